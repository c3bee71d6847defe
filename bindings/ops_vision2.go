package bindings

import "github.com/ollama/ollama/ml"

// Conv2DGEMM is Conv2D (torch.nn.Conv2d on x [W, H, C, N], weight
// [KW, KH, C, OC], optional bias [OC], result [OW, OH, OC, N]) with its
// matrix product shaped for llamafile's tinyBLAS, the fast f32 kernel of
// ggml's CPU backend. ggml's conv_2d multiplies the im2col columns, as the
// product's src0 (m = OW·OH·N), by the kernel, and tinyBLAS refuses any m
// that is not a multiple of 4, leaving the product to ggml's much slower
// dot-product loop: AlexNet's maps at a 512×512 input (127², 63², 31²) are
// all odd. Here the kernel is src0 (m = OC: 64, 192, 384, 256 …) and the
// channel-first product [OC, OW, OH, N] is transposed back.
//
// tinyBLAS also needs k = KW·KH·C to be a multiple of 8 (16 with
// AVX-512). Where it is not (ResNet's 7×7×3 stem: 147; AlexNet's 11×11×3:
// 363) and the kernel is f32 without dilation, the kernel grows by t zero
// columns and rows (8×8, 12×12: the smallest t with (KW+t)(KH+t)·C a
// multiple of 16, if that adds at most half the work) and the input by t zero columns and rows at its end, which
// keeps the output size for any stride ((W+t+2p−KW−t)/s+1) and, the extra
// taps being zero, the values. Otherwise Conv2DGEMM is Conv2D. (Zero-padding
// k itself, 363 → 368, reached tinyBLAS too but was slower: the pad is
// another pass over the im2col buffer; 142 against 108 CPU-ms for AlexNet's
// stem on a 512×512 pair.) Growing instead: AlexNet's stem on a 512×512
// pair 113 → 82 CPU-ms at one thread; ResNet's stem alone on 1066×800
// 389 → 352, but not the whole DETR or FCN (models/resnet keeps Conv2D).
//
// Same function as Conv2D up to f32 rounding (TestConv2DGEMM). Measured
// with -march=x86-64-v3 at 2 threads on a shared 2-core Xeon (CPU-ms per
// op, medians of 3): AlexNet's conv2 on a 512×512 pair 254 → 134, conv3
// 138 → 79; at SD's 64×64×320, where both orientations reach tinyBLAS,
// no gain (so Conv2D is unchanged).
func Conv2DGEMM(ctx ml.Context, x, weight, bias ml.Tensor, stride, padding, dilation int) ml.Tensor {
	kw, kh, ic, oc := weight.Dim(0), weight.Dim(1), weight.Dim(2), weight.Dim(3)
	k := kw * kh * ic
	if k%16 != 0 && !gemmWeightOK(weight) {
		t := gemmGrow(kw, kh, ic)
		if t == 0 || dilation != 1 || weight.DType() != ml.DTypeF32 {
			return Conv2D(ctx, x, weight, bias, stride, padding, dilation)
		}
		weight = weight.Pad(ctx, t, t, 0, 0)
		x = x.Pad(ctx, t, t, 0, 0)
		kw, kh, k = kw+t, kh+t, (kw+t)*(kh+t)*ic
	}
	col := weight.IM2Col(ctx, x, stride, stride, padding, padding, dilation, dilation) // [K, OW, OH, N]
	ow, oh, n := col.Dim(1), col.Dim(2), col.Dim(3)
	y := mulmatBiasF32(ctx, weight.Reshape(ctx, k, oc), col.Reshape(ctx, k, ow*oh*n), bias) // [OC, OW·OH·N]
	return FromChannelFirst(ctx, y.Reshape(ctx, oc, ow, oh, n))
}

// gemmGrow is the smallest t with (kw+t)(kh+t)·c a multiple of 16, or 0
// where that would add more than half the work (a 1×1 or 3×3 kernel).
func gemmGrow(kw, kh, c int) int {
	for t := 1; 2*(kw+t)*(kh+t) <= 3*kw*kh; t++ {
		if (kw+t)*(kh+t)*c%16 == 0 {
			return t
		}
	}
	return 0
}
