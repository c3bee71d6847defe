package llava

import (
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/internal/procmem"
)

// Benchmarks on full-size random weights (Qwen1.5-0.5B shapes, CLIP
// ViT-L/14-336 mmproj in f16). The pair is synthesized once into
// $MULTISC_BENCH_DIR (default: the system temp folder); the LM in f16,
// q8_0 and q4_0. Run with, e.g.:
//
//	go test -run '^$' -bench . -benchtime 1x -count 5 ./models/llava/
//
// Each reports encode/prompt/decode figures of one call as metrics and the
// process's peak resident memory (VmHWM).
// $MULTISC_BENCH_FLASH=1 runs both models with flash attention.

func benchPair(b *testing.B, typ string) (lm, mm string) {
	b.Helper()
	dir := os.Getenv("MULTISC_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "multisc-bench")
	}
	os.MkdirAll(dir, 0o755)
	mm = filepath.Join(dir, "llava-full-f16-mmproj.gguf")
	lm = filepath.Join(dir, "llava-full-"+typ+".gguf")
	if _, err := os.Stat(lm); err != nil {
		t, err := bindings.ParseType(typ)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := SynthPair("full", 1, t, lm); err != nil {
			b.Fatal(err)
		}
		if typ != "f16" {
			os.Remove(MMProjPath(lm))
		}
	}
	if _, err := os.Stat(mm); err != nil {
		benchPair(b, "f16")
	}
	return lm, mm
}

func benchImage(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i*13 + i/w)
	}
	return img
}

func openBench(b *testing.B, typ string) *Captioner {
	lm, mm := benchPair(b, typ)
	// MULTISC_BENCH_FLASH=1 turns on ggml's flash attention (llama.cpp's
	// CPU default, "auto", does).
	c, err := OpenWith(lm, mm, bindings.Options{Device: "cpu"}, os.Getenv("MULTISC_BENCH_FLASH") == "1")
	if err != nil {
		b.Fatal(err)
	}
	c.stops = nil // random weights: always generate MaxTokens
	return c
}

// BenchmarkEncode: tower + projector on one 336×336 image.
func BenchmarkEncode(b *testing.B) {
	c := openBench(b, "f16")
	defer c.Close()
	px := [][]float32{c.Vision.Model.Preprocess(benchImage(336, 336))}
	b.ResetTimer()
	for range b.N {
		c.Vision.Embed(px)
	}
	b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
}

// BenchmarkLM: prompt (paper query + 576 image tokens) and 32 greedy
// tokens, per LM type; encode excluded.
func BenchmarkLM(b *testing.B) {
	for _, typ := range []string{"f16", "q8_0", "q4_0"} {
		b.Run(typ, func(b *testing.B) {
			c := openBench(b, typ)
			defer c.Close()
			pre, post, err := c.Tokenize(Options{})
			if err != nil {
				b.Fatal(err)
			}
			embs := c.Vision.Embed([][]float32{c.Vision.Model.Preprocess(benchImage(336, 336))})
			b.ResetTimer()
			for range b.N {
				if _, err := c.Generate(pre, post, embs, Options{MaxTokens: 32, BatchSize: 2048}); err != nil {
					b.Fatal(err)
				}
			}
			st := c.Last
			b.ReportMetric(float64(st.PromptTokens)/st.PromptSeconds, "prompt-tok/s")
			b.ReportMetric(float64(st.DecodeTokens)/st.DecodeSeconds, "decode-tok/s")
			b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
		})
	}
}

// BenchmarkCaption3: three blocks of one image, 16 tokens each, batched in
// one call versus three sequential calls (q8_0 LM).
func BenchmarkCaption3(b *testing.B) {
	c := openBench(b, "q8_0")
	defer c.Close()
	imgs := []image.Image{benchImage(300, 200), benchImage(200, 300), benchImage(256, 256)}
	o := Options{MaxTokens: 16}
	for _, mode := range []string{"batched", "sequential"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				if mode == "batched" {
					if _, err := c.Caption(imgs, o); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for i := range imgs {
					if _, err := c.Caption(imgs[i:i+1], o); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
		})
	}
}
