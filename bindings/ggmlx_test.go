package bindings

import (
	"fmt"
	"testing"

	"github.com/ollama/ollama/ml"
)

// TestGGMLXLayout pins the bridge to the engine version: the C tensor read
// out of ollama's Tensor has the element and row counts of its Shape(), and
// a tensor wrapped around a C result computes like any other.
func TestGGMLXLayout(t *testing.T) {
	ctx := scratch.NewContext()
	defer ctx.Close()
	for _, shape := range [][]int{{7}, {3, 5}, {2, 3, 4}, {2, 3, 4, 5}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		x := ctx.Input().FromFloats(make([]float32, n), shape...)
		if got := elementsX(x); got != int64(n) {
			t.Fatalf("%v: ggml_nelements %d, want %d", shape, got, n)
		}
		if got := rowsX(x); got != int64(n/shape[0]) {
			t.Fatalf("%v: ggml_nrows %d, want %d", shape, got, n/shape[0])
		}
		y := x.Permute(ctx, 1, 0, 2, 3)
		if got := elementsX(y); got != int64(n) {
			t.Fatalf("%v permuted: ggml_nelements %d", shape, got)
		}
	}
	if cContext(ctx) == nil {
		t.Fatal("nil ggml_context")
	}
}

// TestGroupNormX: ggml_group_norm through the bridge equals the float64
// reference (and so the composed GroupNorm) within opTol.
func TestGroupNormX(t *testing.T) {
	for _, tc := range []struct {
		s      shape4
		groups int
	}{
		{shape4{7, 5, 12, 2}, 4},
		{shape4{9, 3, 32, 3}, 32},
		{shape4{5, 11, 6, 1}, 1},
	} {
		t.Run(fmt.Sprintf("%v/g%d", tc.s, tc.groups), func(t *testing.T) {
			in := randn(1, tc.s.len(), 3)
			for i := range in {
				in[i] += 2
			}
			w, b := randn(2, tc.s.C, 1), randn(3, tc.s.C, 1)
			got, shape := compute(t, func(ctx ml.Context) ml.Tensor {
				x := ctx.Input().FromFloats(in, tc.s.W, tc.s.H, tc.s.C, tc.s.N)
				return GroupNormX(ctx, x, tc.groups, 1e-5,
					ctx.Input().FromFloats(w, tc.s.C), ctx.Input().FromFloats(b, tc.s.C))
			})
			if fmt.Sprint(dims4(shape)) != fmt.Sprint([]int{tc.s.W, tc.s.H, tc.s.C, tc.s.N}) {
				t.Fatalf("shape %v", shape)
			}
			assertClose(t, got, refGroupNorm(in, tc.s, tc.groups, 1e-5, w, b), opTol)
		})
	}
}

func BenchmarkGroupNormX32_64x64x320(b *testing.B) {
	w, bias := randn(2, 320, 1), randn(3, 320, 1)
	benchOp(b, shape4{64, 64, 320, 1}, func(ctx ml.Context, x ml.Tensor) ml.Tensor {
		return GroupNormX(ctx, x, 32, 1e-5, ctx.Input().FromFloats(w, 320), ctx.Input().FromFloats(bias, 320))
	})
}

func BenchmarkGroupNorm32_256x256x256(b *testing.B) {
	w, bias := randn(2, 256, 1), randn(3, 256, 1)
	benchOp(b, shape4{256, 256, 256, 1}, func(ctx ml.Context, x ml.Tensor) ml.Tensor {
		return GroupNorm(ctx, x, 32, 1e-6, ctx.Input().FromFloats(w, 256), ctx.Input().FromFloats(bias, 256))
	})
}

func BenchmarkGroupNormX32_256x256x256(b *testing.B) {
	w, bias := randn(2, 256, 1), randn(3, 256, 1)
	benchOp(b, shape4{256, 256, 256, 1}, func(ctx ml.Context, x ml.Tensor) ml.Tensor {
		return GroupNormX(ctx, x, 32, 1e-6, ctx.Input().FromFloats(w, 256), ctx.Input().FromFloats(bias, 256))
	})
}
