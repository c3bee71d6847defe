package bindings

import (
	"strings"
	"testing"

	"github.com/ollama/ollama/ml"
)

// TestOpsOnGPU runs the composed ops and a conv on the first CUDA device and
// compares them with the CPU. It needs the CUDA backend library (see README
// "CUDA build") and skips on machines without a GPU.
func TestOpsOnGPU(t *testing.T) {
	devs, err := Devices(0)
	if err != nil {
		t.Fatal(err)
	}
	gpu := ""
	for _, d := range devs {
		if strings.HasPrefix(d.Name, "cuda:") {
			gpu = d.Name
			break
		}
	}
	if gpu == "" {
		t.Skip("no CUDA device (build the backend with CMake and set MULTISC_LIB_PATH)")
	}
	g, err := NewScratch(gpu, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	s := shape4{33, 17, 32, 2}
	in := randn(21, s.len(), 1)
	w, b := randn(22, 3*3*32*16, 0.1), randn(23, 16, 0.1)
	gw, gb := randn(24, 32, 1), randn(25, 32, 1)
	build := func(ctx ml.Context, at ml.Context) []ml.Tensor {
		x := at.FromFloats(in, s.W, s.H, s.C, s.N)
		return []ml.Tensor{
			Conv2D(ctx, x, at.FromFloats(w, 3, 3, 32, 16), at.FromFloats(b, 16), 1, 1, 1),
			GroupNorm(ctx, x, 8, 1e-5, at.FromFloats(gw, 32), at.FromFloats(gb, 32)),
			MaxPool2D(ctx, x, 3, 2, 1),
			Upsample(ctx, x, 2),
		}
	}
	cpu, _, err := Compute(scratch.Backend, func(ctx ml.Context) []ml.Tensor { return build(ctx, ctx.Input()) })
	if err != nil {
		t.Fatal(err)
	}
	// Layer(0) places the inputs in the GPU's buffer, so the ops run there.
	dev, _, err := Compute(g.Backend, func(ctx ml.Context) []ml.Tensor { return build(ctx, ctx.Layer(0)) })
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"conv", "groupnorm", "maxpool", "upsample"} {
		t.Run(name, func(t *testing.T) {
			// GPU kernels sum in another order (and cuBLAS may use TF32-free
			// f32 GEMM with different blocking): allow 1e-4·max|ref|.
			assertClose(t, dev[i], cpu[i], 1e-4)
		})
	}
}
