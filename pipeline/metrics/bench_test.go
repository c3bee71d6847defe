package metrics

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// BenchmarkSSIM512 scores one 512×512 RGB pair per iteration, conversion from
// image.Image included.
func BenchmarkSSIM512(b *testing.B) {
	x, y := randomImage(512, 512, 1), randomImage(512, 512, 2)
	b.ResetTimer()
	for b.Loop() {
		if _, err := SSIM(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

func BenchmarkPSNR512(b *testing.B) {
	x, y := randomImage(512, 512, 1), randomImage(512, 512, 2)
	for b.Loop() {
		if _, err := PSNR(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}

// captionPairs makes n seeded caption-like hypotheses with one reference
// each, about 11 words long like COCO captions.
func captionPairs(n int) ([]string, [][]string) {
	words := strings.Fields("a an the man woman dog cat two people sitting standing on in near with of " +
		"street table bench red blue white large small holding riding bike horse park field beach water.")
	r := rand.New(rand.NewPCG(5000, 4))
	sentence := func() string {
		k := 8 + r.IntN(8)
		s := make([]string, k)
		for i := range s {
			s[i] = words[r.IntN(len(words))]
		}
		return strings.Join(s, " ") + "."
	}
	hyps, refs := make([]string, n), make([][]string, n)
	for i := range hyps {
		hyps[i], refs[i] = sentence(), []string{sentence()}
	}
	return hyps, refs
}

// BenchmarkSacreCorpusBLEU5000: one corpus BLEU over 5,000 pairs per
// iteration (tokenization included).
func BenchmarkSacreCorpusBLEU5000(b *testing.B) {
	hyps, refs := captionPairs(5000)
	for b.Loop() {
		if _, err := SacreCorpusBLEU(hyps, refs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSacreSentenceBLEU5000: 5,000 sentence BLEUs per iteration.
func BenchmarkSacreSentenceBLEU5000(b *testing.B) {
	hyps, refs := captionPairs(5000)
	for b.Loop() {
		for i := range hyps {
			if _, err := SacreSentenceBLEU(hyps[i], refs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkNLTKSentenceBLEU5000: 5,000 NLTK-style sentence BLEUs per
// iteration.
func BenchmarkNLTKSentenceBLEU5000(b *testing.B) {
	hyps, refs := captionPairs(5000)
	for b.Loop() {
		for i := range hyps {
			if _, err := NLTKSentenceBLEU(hyps[i], refs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
