package bindings

import (
	"testing"

	"github.com/multisc/multisc/internal/cputime"
	"github.com/ollama/ollama/ml"
)

// TestConv2DCF: the channel-first conv equals a plain-Go convolution
// (float64 accumulation) within 1e-5·max|ref| for the ResNet conv kinds:
// 1×1, strided 1×1 (downsample), 3×3 strided, 3×3 dilated (also in
// batches), 5×5, unpadded 3×3, the 7×7 stem.
func TestConv2DCF(t *testing.T) {
	cases := []struct {
		name                    string
		in                      shape4
		k, oc, stride, pad, dil int
	}{
		{"1x1", shape4{7, 5, 6, 2}, 1, 4, 1, 0, 1},
		{"1x1 stride 2, odd size", shape4{7, 5, 6, 1}, 1, 3, 2, 0, 1},
		{"3x3 stride 2", shape4{9, 6, 3, 2}, 3, 5, 2, 1, 1},
		{"3x3 dilation 2", shape4{9, 8, 4, 1}, 3, 3, 1, 2, 2},
		{"3x3 pad 1, batch of 2", shape4{6, 5, 3, 2}, 3, 4, 1, 1, 1},
		{"3x3 dilation 4, batch of 3", shape4{7, 9, 2, 3}, 3, 3, 1, 4, 4},
		{"5x5 pad 2", shape4{8, 7, 3, 1}, 5, 2, 1, 2, 1},
		{"3x3 pad 0 (not same: im2col)", shape4{6, 5, 3, 1}, 3, 2, 1, 0, 1},
		{"7x7 stride 2 stem", shape4{11, 13, 3, 1}, 7, 4, 2, 3, 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.in
			x := randn(uint64(10+i), s.len(), 1)            // [W, H, C, N]
			w := randn(uint64(20+i), c.k*c.k*s.C*c.oc, 0.3) // [KW, KH, C, OC]
			b := randn(uint64(30+i), c.oc, 0.1)
			got, shape := compute(t, func(ctx ml.Context) ml.Tensor {
				in := ctx.Input()
				xt := ToChannelFirst(ctx, in.FromFloats(x, s.W, s.H, s.C, s.N))
				y := Conv2DCF(ctx, xt, in.FromFloats(w, c.k, c.k, s.C, c.oc), in.FromFloats(b, c.oc), c.stride, c.pad, c.dil)
				return FromChannelFirst(ctx, y)
			})
			ref, o := refConv2D(x, s, w, b, c.oc, c.k, c.stride, c.pad, c.dil)
			assertConvShape(t, shape, o)
			assertClose(t, got, ref, 1e-5)
		})
	}
}

// Benchmarks of the two conv layouts on FCN's largest layers (layer4 at a
// 520×520 input: 65×65, dilation 4), and of ResNet's typical 1×1 at 56×56:
//
//	go test -run '^$' -bench 'Conv.*Layer' -count 5 ./bindings/
func benchConvLayout(b *testing.B, s shape4, k, oc, pad, dil int, channelFirst bool) {
	x := randn(1, s.len(), 1)
	w := randn(2, k*k*s.C*oc, 0.02)
	bias := randn(3, oc, 0.1)
	defer cputime.Report(b)()
	for b.Loop() {
		ctx := scratch.NewContext()
		in := ctx.Input()
		var y ml.Tensor
		if channelFirst {
			y = Conv2DCF(ctx, in.FromFloats(x, s.C, s.W, s.H, s.N), in.FromFloats(w, k, k, s.C, oc), in.FromFloats(bias, oc), 1, pad, dil)
		} else {
			y = Conv2D(ctx, in.FromFloats(x, s.W, s.H, s.C, s.N), in.FromFloats(w, k, k, s.C, oc), in.FromFloats(bias, oc), 1, pad, dil)
		}
		ctx.Forward(y).Compute(y)
		ctx.Close()
	}
}

func BenchmarkConv1x1Layer4_65x65x2048to512(b *testing.B) {
	benchConvLayout(b, shape4{65, 65, 2048, 1}, 1, 512, 0, 1, false)
}
func BenchmarkConv1x1Layer4_65x65x2048to512CF(b *testing.B) {
	benchConvLayout(b, shape4{65, 65, 2048, 1}, 1, 512, 0, 1, true)
}
func BenchmarkConv3x3Layer4_65x65x512dil4(b *testing.B) {
	benchConvLayout(b, shape4{65, 65, 512, 1}, 3, 512, 4, 4, false)
}
func BenchmarkConv3x3Layer4_65x65x512dil4CF(b *testing.B) {
	benchConvLayout(b, shape4{65, 65, 512, 1}, 3, 512, 4, 4, true)
}
