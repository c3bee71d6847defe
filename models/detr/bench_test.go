package detr

import (
	"os"
	"path/filepath"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/internal/cputime"
	"github.com/multisc/multisc/models/resnet"
)

// BenchmarkDETR800 runs DETR-R50 (full size) on one 800×1066 image per
// iteration on the CPU (backbone, transformer, heads; no post-processing),
// with $MULTISC_BENCH_GGUF (e.g. converted from the weights
// testdata/bench_reference.py saves, the anchor) or a seeded full-size
// model:
//
//	go test -run '^$' -bench DETR800 -count 5 ./models/detr/
func BenchmarkDETR800(b *testing.B)    { benchDETR(b, fsggml.TensorTypeF32) }
func BenchmarkDETR800F16(b *testing.B) { benchDETR(b, fsggml.TensorTypeF16) }

func benchDETR(b *testing.B, typ fsggml.TensorType) {
	path := os.Getenv("MULTISC_BENCH_GGUF")
	if path != "" && typ != fsggml.TensorTypeF32 {
		b.Skip("MULTISC_BENCH_GGUF set: its own type is benchmarked by BenchmarkDETR800")
	}
	if path == "" {
		path = filepath.Join(b.TempDir(), "detr-full.gguf")
		if err := bindings.Synth(Arch, "full", 1, typ, path); err != nil {
			b.Fatal(err)
		}
	}
	l, err := bindings.Open(path, bindings.Options{Arch: Arch, Device: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	m := l.Model.(*Model)
	const w, h = 1066, 800
	in := make([]float32, w*h*3)
	for i := range in {
		in[i] = float32(i%977)/977 - 0.5
	}
	for _, cf := range []bool{true, false} {
		name := "layout=WHC"
		if cf {
			name = "layout=CWH"
		}
		b.Run(name, func(b *testing.B) {
			resnet.ChannelFirst = cf
			defer func() { resnet.ChannelFirst = true }()
			defer cputime.Report(b)()
			for b.Loop() {
				bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
					x := ctx.Input().FromFloats(in, w, h, 3, 1)
					logits, boxes := m.Heads(ctx, x, [][2]int{{h, w}})
					return []ml.Tensor{logits, boxes}
				})
			}
		})
	}
}
