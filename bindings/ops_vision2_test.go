package bindings

import (
	"fmt"
	"testing"

	"github.com/multisc/multisc/internal/cputime"
	"github.com/ollama/ollama/ml"
)

// TestConv2DGEMM: Conv2DGEMM equals the plain-Go convolution (float64
// accumulation) within 1e-5·max|ref|, for AlexNet's stem (k = 363, grown
// to 12×12) and ResNet's (7×7 stride 2, k = 147, grown to 8×8) on odd and
// even maps, a 3×3 with k = 144, a dilated 3×3 with k = 27 (Conv2D
// fallback), a strided 5×5 and 1×1s, in batches.
func TestConv2DGEMM(t *testing.T) {
	cases := []struct {
		name                    string
		in                      shape4
		k, oc, stride, pad, dil int
	}{
		{"11x11 stride 4 (AlexNet stem)", shape4{23, 19, 3, 2}, 11, 8, 4, 2, 1},
		{"7x7 stride 2 (ResNet stem)", shape4{13, 11, 3, 1}, 7, 4, 2, 3, 1},
		{"7x7 stride 2 (ResNet stem), even", shape4{14, 12, 3, 2}, 7, 4, 2, 3, 1},
		{"11x11 stride 4 (AlexNet stem), other sizes", shape4{26, 21, 3, 1}, 11, 4, 4, 2, 1},
		{"3x3 k=144", shape4{7, 5, 16, 1}, 3, 5, 1, 1, 1},
		{"3x3 dilation 2", shape4{9, 8, 3, 2}, 3, 3, 1, 2, 2},
		{"5x5 stride 2, k=200", shape4{11, 9, 8, 2}, 5, 6, 2, 2, 1},
		{"1x1 k=8", shape4{5, 3, 8, 1}, 1, 7, 1, 0, 1},
		{"1x1 k=6", shape4{5, 3, 6, 1}, 1, 7, 1, 0, 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.in
			x := randn(uint64(40+i), s.len(), 1)
			w := randn(uint64(50+i), c.k*c.k*s.C*c.oc, 0.3)
			b := randn(uint64(60+i), c.oc, 0.1)
			got, shape := compute(t, func(ctx ml.Context) ml.Tensor {
				in := ctx.Input()
				return Conv2DGEMM(ctx, in.FromFloats(x, s.W, s.H, s.C, s.N), in.FromFloats(w, c.k, c.k, s.C, c.oc), in.FromFloats(b, c.oc), c.stride, c.pad, c.dil)
			})
			ref, o := refConv2D(x, s, w, b, c.oc, c.k, c.stride, c.pad, c.dil)
			assertConvShape(t, shape, o)
			assertClose(t, got, ref, 1e-5)
		})
	}
}

// assertConvShape fails unless a result's shape (trailing 1s dropped by
// ggml) is o.
func assertConvShape(t *testing.T, shape []int, o shape4) {
	t.Helper()
	for len(shape) < 4 {
		shape = append(shape, 1)
	}
	if fmt.Sprint(shape) != fmt.Sprint([]int{o.W, o.H, o.C, o.N}) {
		t.Fatalf("shape %v, want %v", shape, o)
	}
}

// AlexNet's convs at a 512×512 pair (LPIPS), through Conv2D and Conv2DGEMM:
//
//	go test -run '^$' -bench 'AlexNetConv|ConvGEMM' -count 5 ./bindings/
func benchConvGEMM(b *testing.B, s shape4, k, oc, stride, pad int) {
	x := randn(1, s.len(), 1)
	w := randn(2, k*k*s.C*oc, 0.02)
	bias := randn(3, oc, 0.1)
	for _, v := range []struct {
		name     string
		conv     func(ml.Context, ml.Tensor, ml.Tensor, ml.Tensor, int, int, int) ml.Tensor
		implicit bool
	}{{"Conv2D", Conv2D, false}, {"Conv2DGEMM", Conv2DGEMM, false}, {"Conv2DGEMM/implicit", Conv2DGEMM, true}} {
		b.Run(v.name, func(b *testing.B) {
			ConvGEMMImplicit = v.implicit
			defer func() { ConvGEMMImplicit = true }()
			defer cputime.Report(b)()
			for b.Loop() {
				ctx := scratch.NewContext()
				in := ctx.Input()
				y := v.conv(ctx, in.FromFloats(x, s.W, s.H, s.C, s.N), in.FromFloats(w, k, k, s.C, oc), in.FromFloats(bias, oc), stride, pad, 1)
				ctx.Forward(y).Compute(y)
				ctx.Close()
			}
		})
	}
}

func BenchmarkAlexNetConv1_512x512x3(b *testing.B) {
	benchConvGEMM(b, shape4{512, 512, 3, 2}, 11, 64, 4, 2)
}
func BenchmarkResNetStem_520x520x3(b *testing.B) {
	benchConvGEMM(b, shape4{520, 520, 3, 1}, 7, 64, 2, 3)
}
func BenchmarkResNetStem_1066x800x3(b *testing.B) {
	benchConvGEMM(b, shape4{1066, 800, 3, 1}, 7, 64, 2, 3)
}
func BenchmarkAlexNetConv2_63x63x64(b *testing.B) {
	benchConvGEMM(b, shape4{63, 63, 64, 2}, 5, 192, 1, 2)
}
func BenchmarkAlexNetConv3_31x31x192(b *testing.B) {
	benchConvGEMM(b, shape4{31, 31, 192, 2}, 3, 384, 1, 1)
}

// SD's UNet conv (the size of BenchmarkConv2D3x3_64x64x320), whose map is
// already a multiple of 4, so both orientations reach tinyBLAS: measured no
// gain (167 against 181 CPU-ms at 2 threads, 163 against 159 at one), so
// Conv2D stays as it is for SD.
func BenchmarkConvGEMMSDSize_64x64x320(b *testing.B) {
	benchConvGEMM(b, shape4{64, 64, 320, 1}, 3, 320, 1, 1)
}

func TestGEMMGrow(t *testing.T) {
	cases := []struct{ kw, kh, c, want int }{
		{7, 7, 3, 1},   // ResNet stem: 8×8×3 = 192
		{11, 11, 3, 1}, // AlexNet stem: 12×12×3 = 432
		{5, 5, 8, 1},   // 6×6×8 = 288
		{3, 3, 3, 0},   // 4×4 would add 78%
		{1, 1, 6, 0},
		{7, 7, 1, 1}, // 64
		{5, 5, 1, 0}, // 6×6 = 36, 7×7 = 49 not multiples of 16; 8×8 adds 156%
	}
	for _, c := range cases {
		if got := gemmGrow(c.kw, c.kh, c.c); got != c.want {
			t.Errorf("gemmGrow(%d, %d, %d) = %d, want %d", c.kw, c.kh, c.c, got, c.want)
		}
	}
}
