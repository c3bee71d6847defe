package bindings

import (
	"fmt"
	"testing"

	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/internal/cputime"
)

// The conv products of FCN-ResNet50 at 520×520 (layer4's 3×3: M = 512,
// K = 4608, N = 65·65; layer1's 1×1: M = 256, K = 64, N = 130·130) and
// AlexNet's conv2 on a 512×512 pair (M = 192, K = 1600, N = 2·63·63),
// through gemm.c (MulmatF32) and ggml's mul_mat (tinyBLAS), at 1 and 2
// threads, in GFLOP/s:
//
//	go test -run '^$' -bench 'GemmVsGGML' -count 5 ./bindings/
func BenchmarkGemmVsGGML(b *testing.B) {
	for _, s := range []struct {
		name    string
		m, n, k int
	}{
		{"fcn_layer4_3x3", 512, 4225, 4608},
		{"fcn_layer1_1x1", 256, 16900, 64},
		{"alexnet_conv2", 192, 7938, 1600},
		// small products, for MulmatF32's cut-off (gemmMinWork = 0 here)
		{"small_64x64x64", 64, 64, 64},
		{"small_64x256x64", 64, 256, 64},
		{"small_64x1024x64", 64, 1024, 64},
		{"small_21x4225x512", 21, 4225, 512},
		{"small_256x256x256", 256, 256, 256},
	} {
		a := randn(1, s.m*s.k, 0.02)
		x := randn(2, s.n*s.k, 1)
		for _, threads := range []int{1, 2} {
			sc, err := NewScratch("cpu", threads)
			if err != nil {
				b.Fatal(err)
			}
			for _, op := range []struct {
				name string
				mul  func(ml.Context, ml.Tensor, ml.Tensor) ml.Tensor
			}{
				{"ggml", func(ctx ml.Context, a, b ml.Tensor) ml.Tensor { return a.Mulmat(ctx, b) }},
				{"gemm", func(ctx ml.Context, a, b ml.Tensor) ml.Tensor {
					old := gemmMinWork
					gemmMinWork = 0
					defer func() { gemmMinWork = old }()
					return MulmatF32(ctx, a, b)
				}},
			} {
				b.Run(fmt.Sprintf("%s/threads=%d/%s", s.name, threads, op.name), func(b *testing.B) {
					ctx := sc.NewContext()
					defer ctx.Close()
					in := ctx.Input()
					wa, xb := in.FromFloats(a, s.k, s.m), in.FromFloats(x, s.k, s.n)
					defer cputime.Report(b)()
					for b.Loop() {
						c := sc.NewContext()
						y := op.mul(c, wa, xb)
						c.Forward(y).Compute(y)
						c.Close()
					}
					b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			sc.Close()
		}
	}
}
