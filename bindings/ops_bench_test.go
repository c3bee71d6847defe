package bindings

import (
	"fmt"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/backend/ggml"
)

// Benchmarks of the composed ops (and ggml's conv for scale) at the sizes the
// real models use, on the CPU scratch backend with all cores.
//
//	go test -run '^$' -bench . -count 5 ./bindings/

func benchOp(b *testing.B, s shape4, build func(ctx ml.Context, x ml.Tensor) ml.Tensor) {
	in := randn(1, s.len(), 1)
	b.SetBytes(int64(4 * s.len()))
	for b.Loop() {
		ctx := scratch.NewContext()
		x := ctx.Input().FromFloats(in, s.W, s.H, s.C, s.N)
		y := build(ctx, x)
		ctx.Forward(y).Compute(y)
		ctx.Close()
	}
}

func BenchmarkGroupNorm32_64x64x320(b *testing.B) {
	w, bias := randn(2, 320, 1), randn(3, 320, 1)
	benchOp(b, shape4{64, 64, 320, 1}, func(ctx ml.Context, x ml.Tensor) ml.Tensor {
		return GroupNorm(ctx, x, 32, 1e-5, ctx.Input().FromFloats(w, 320), ctx.Input().FromFloats(bias, 320))
	})
}

func BenchmarkMaxPool3s2_112x112x64(b *testing.B) {
	benchOp(b, shape4{112, 112, 64, 1}, func(ctx ml.Context, x ml.Tensor) ml.Tensor {
		return MaxPool2D(ctx, x, 3, 2, 1)
	})
}

func BenchmarkUpsample2_64x64x320(b *testing.B) {
	benchOp(b, shape4{64, 64, 320, 1}, func(ctx ml.Context, x ml.Tensor) ml.Tensor {
		return Upsample(ctx, x, 2)
	})
}

func BenchmarkBatchNorm_112x112x64(b *testing.B) {
	st := randn(4, 4*64, 1)
	for i := 64; i < 128; i++ {
		st[i] = 1 + st[i]*st[i]
	}
	benchOp(b, shape4{112, 112, 64, 1}, func(ctx ml.Context, x ml.Tensor) ml.Tensor {
		in := ctx.Input()
		return BatchNorm(ctx, x, in.FromFloats(st[:64], 64), in.FromFloats(st[64:128], 64),
			in.FromFloats(st[128:192], 64), in.FromFloats(st[192:], 64), 1e-5)
	})
}

func BenchmarkConv2D3x3_64x64x320(b *testing.B) {
	w, bias := randn(5, 3*3*320*320, 0.02), randn(6, 320, 0.1)
	benchOp(b, shape4{64, 64, 320, 1}, func(ctx ml.Context, x ml.Tensor) ml.Tensor {
		in := ctx.Input()
		return Conv2D(ctx, x, in.FromFloats(w, 3, 3, 320, 320), in.FromFloats(bias, 320), 1, 1, 1)
	})
}

// BenchmarkMulmatColumns: a decode step's product with the output head of
// Qwen1.5-0.5B (q8_0 [1024, 151936], 165 MB: from memory, as in a step) for
// n columns, through MulmatColumns and through ggml's 2-D mul_mat
// (llamafile's tinyBLAS from two columns); ms-per-column is the figure to
// compare with n = 1.
func BenchmarkMulmatColumns(b *testing.B) {
	const k, m = 1024, 151936
	wctx := scratch.NewContext()
	defer wctx.Close()
	w := wctx.Input().FromBytes(ml.DTypeQ80, ggml.Quantize(fsggml.TensorTypeQ8_0, randn(7, k*m, 0.05), []uint64{k, m}), k, m)
	for _, n := range []int{1, 2, 3, 4, 8} {
		for _, mode := range []string{"columns", "ggml"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, mode), func(b *testing.B) {
				xs := randn(8, k*n, 1)
				for b.Loop() {
					ctx := scratch.NewContext()
					x := ctx.Input().FromFloats(xs, k, n)
					y := w.Mulmat(ctx, x)
					if mode == "columns" {
						y = MulmatColumns(ctx, w, x)
					}
					ctx.Forward(y).Compute(y)
					ctx.Close()
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*n), "ms/column")
			})
		}
	}
}
