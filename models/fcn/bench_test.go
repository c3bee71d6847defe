package fcn

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

// benchModel opens $MULTISC_BENCH_GGUF (e.g. converted from the weights
// testdata/bench_reference.py saves, so both sides run the same weights)
// or else a full-size seeded model of type typ.
func benchModel(b *testing.B, typ fsggml.TensorType) *Model {
	path := os.Getenv("MULTISC_BENCH_GGUF")
	if path == "" {
		path = filepath.Join(b.TempDir(), "fcn-full.gguf")
		if err := bindings.Synth(Arch, "full", 1, typ, path); err != nil {
			b.Fatal(err)
		}
	}
	l, err := bindings.Open(path, bindings.Options{Arch: Arch, Device: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.Close)
	return l.Model.(*Model)
}

// BenchmarkFCN520 runs fcn_resnet50 (full size) on one 520×520 image per
// iteration on the CPU: backbone, head and the bilinear upsampling to
// 520×520, as torchvision's forward (testdata/bench_reference.py is the
// anchor):
//
//	go test -run '^$' -bench FCN520 -count 5 ./models/fcn/
func BenchmarkFCN520(b *testing.B)    { benchFCN(b, fsggml.TensorTypeF32) }
func BenchmarkFCN520F16(b *testing.B) { benchFCN(b, fsggml.TensorTypeF16) }

func benchFCN(b *testing.B, typ fsggml.TensorType) {
	if os.Getenv("MULTISC_BENCH_GGUF") != "" && typ != fsggml.TensorTypeF32 {
		b.Skip("MULTISC_BENCH_GGUF set: its own type is benchmarked by BenchmarkFCN520")
	}
	m := benchModel(b, typ)
	in := make([]float32, 520*520*3)
	for i := range in {
		in[i] = float32(i%977)/977 - 0.5
	}
	for _, v := range benchVariants {
		b.Run(v.name, func(b *testing.B) {
			resnet.ChannelFirst = v.cf
			defer func() { resnet.ChannelFirst = true }()
			defer cputime.Report(b)()
			for b.Loop() {
				bindings.MustCompute(m.Backend(), func(ctx ml.Context) []ml.Tensor {
					x := ctx.Input().FromFloats(in, 520, 520, 3, 1)
					return []ml.Tensor{m.Logits(ctx, x, 520, 520)}
				})
			}
		})
	}
}

// benchVariants are the conv paths the benchmarks compare: channel-first
// (bindings.Conv2DCF, the default) and the [W, H, C, N] layout of
// bindings.Conv2D.
var benchVariants = []struct {
	name string
	cf   bool
}{
	{"layout=CWH", true},
	{"layout=WHC", false},
}
