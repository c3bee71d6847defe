package llava

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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

// benchLM is the LM type of the batching benchmarks: $MULTISC_BENCH_LM
// (f16, q8_0, q4_0), q8_0 by default.
func benchLM() string {
	if typ := os.Getenv("MULTISC_BENCH_LM"); typ != "" {
		return typ
	}
	return "q8_0"
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
	// $MULTISC_THREADS: CPU threads (default all cores).
	threads, _ := strconv.Atoi(os.Getenv("MULTISC_THREADS"))
	c, err := OpenWith(lm, mm, bindings.Options{Device: "cpu", Threads: threads}, os.Getenv("MULTISC_BENCH_FLASH") == "1")
	if err != nil {
		b.Fatal(err)
	}
	c.stops = nil // random weights: always generate MaxTokens
	return c
}

// BenchmarkEncode: tower + projector on 336×336 images, one image per graph
// and three in one graph (a batched Caption call's), in seconds per image.
func BenchmarkEncode(b *testing.B) {
	c := openBench(b, "f16")
	defer c.Close()
	one := c.Vision.Model.Preprocess(benchImage(336, 336))
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprintf("images=%d", n), func(b *testing.B) {
			px := make([][]float32, n)
			for i := range px {
				px[i] = one
			}
			for b.Loop() {
				c.Vision.Embed(px)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N*n), "s/image")
			b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
		})
	}
}

// BenchmarkLM: prompt (paper query + 576 image tokens = 655) and 32 greedy
// tokens, per LM type; encode excluded. The prompt goes in passes of the
// default 512 tokens, like llama-bench's default n_ubatch (its pp655 is the
// anchor; with one 2048-token pass both sides are slower on CPU: the
// attention's score matrix outgrows the caches).
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
				if _, err := c.Generate(pre, post, embs, Options{MaxTokens: 32}); err != nil {
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

// BenchmarkCaption3: three blocks of one image, captioned in one batched
// call and in three sequential calls (q8_0 LM, or $MULTISC_BENCH_LM), at 16
// tokens and at the CLI's default of 64. Each iteration runs both, in
// alternating order, so that drift and load fall on both alike; ns/op is
// their sum. It reports each mode's seconds per op, the ratio batched /
// sequential of their totals, the share of iterations in which the
// batched call was the faster, and each mode's seconds per stage
// (encode = tower + projector; prompt = prompt fill; decode).
func BenchmarkCaption3(b *testing.B) {
	c := openBench(b, benchLM())
	defer c.Close()
	imgs := []image.Image{benchImage(300, 200), benchImage(200, 300), benchImage(256, 256)}
	for _, tokens := range []int{16, 64} {
		o := Options{MaxTokens: tokens}
		b.Run(fmt.Sprintf("tokens=%d", tokens), func(b *testing.B) {
			type total struct{ all, enc, prompt, decode float64 }
			var sum [2]total // batched, sequential
			run := func(mode int) float64 {
				calls := [][]image.Image{imgs}
				if mode == 1 {
					calls = [][]image.Image{imgs[0:1], imgs[1:2], imgs[2:3]}
				}
				start := time.Now()
				for _, call := range calls {
					if _, err := c.Caption(call, o); err != nil {
						b.Fatal(err)
					}
					sum[mode].enc += c.Last.EncodeSeconds
					sum[mode].prompt += c.Last.PromptSeconds
					sum[mode].decode += c.Last.DecodeSeconds
				}
				secs := time.Since(start).Seconds()
				sum[mode].all += secs
				return secs
			}
			i, wins := 0, 0
			for b.Loop() {
				var secs [2]float64
				secs[i%2] = run(i % 2)
				secs[1-i%2] = run(1 - i%2)
				if secs[0] < secs[1] {
					wins++
				}
				i++
			}
			n := float64(i)
			for mode, name := range []string{"batched", "sequential"} {
				b.ReportMetric(sum[mode].all/n, name+"-s")
				b.ReportMetric(sum[mode].enc/n, name+"-encode-s")
				b.ReportMetric(sum[mode].prompt/n, name+"-prompt-s")
				b.ReportMetric(sum[mode].decode/n, name+"-decode-s")
			}
			b.ReportMetric(sum[0].all/sum[1].all, "batched/sequential")
			b.ReportMetric(float64(wins)/n, "batched-faster-share")
			b.ReportMetric(procmem.PeakMiB(), "peak-MiB")
		})
	}
}

// BenchmarkDecodeBatch: decode steps of 1 and 3 sequences together (the
// q8_0 LM, or $MULTISC_BENCH_LM; 32 tokens each), with text-only prompts (79 tokens) and with the
// image's 576 tokens too, to separate the weights' share of a step from the
// attention's (which grows with the cells a step attends over).
func BenchmarkDecodeBatch(b *testing.B) {
	c := openBench(b, benchLM())
	defer c.Close()
	pre, post, err := c.Tokenize(Options{})
	if err != nil {
		b.Fatal(err)
	}
	var emb []float32 // encoded when a sub-benchmark first needs it
	for _, prompt := range []string{"text", "image"} {
		for _, n := range []int{1, 3} {
			b.Run(fmt.Sprintf("prompt=%s/seqs=%d", prompt, n), func(b *testing.B) {
				embs := make([][]float32, n)
				for i := range embs {
					if prompt == "image" {
						if emb == nil {
							emb = c.Vision.Embed([][]float32{c.Vision.Model.Preprocess(benchImage(336, 336))})[0]
						}
						embs[i] = emb
					} else {
						embs[i] = []float32{}
					}
				}
				var steps int
				var secs, prompt float64
				for range b.N {
					if _, err := c.Generate(pre, post, embs, Options{MaxTokens: 32}); err != nil {
						b.Fatal(err)
					}
					steps += c.Last.DecodeSteps
					secs += c.Last.DecodeSeconds
					prompt += c.Last.PromptSeconds
				}
				b.ReportMetric(1000*secs/float64(steps), "ms/step")
				b.ReportMetric(float64(n*steps)/secs, "decode-tok/s")
				b.ReportMetric(prompt/float64(n*b.N), "prompt-s/seq")
			})
		}
	}
}
