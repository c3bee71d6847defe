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
// AVX-512); where it is not (AlexNet's 11×11×3 stem: 363) Conv2DGEMM is
// Conv2D. Zero-padding k to 368 reached tinyBLAS but was slower (the pad
// is another pass over the im2col buffer): 142 against 108 CPU-ms for the
// stem on a 512×512 pair.
//
// Same function as Conv2D up to f32 rounding (TestConv2DGEMM). Measured
// with -march=x86-64-v3 at 2 threads on a shared 2-core Xeon (CPU-ms per
// op, medians of 3): AlexNet's conv2 on a 512×512 pair 254 → 134, conv3
// 138 → 79; at SD's 64×64×320, where both orientations reach tinyBLAS,
// no gain (so Conv2D is unchanged).
func Conv2DGEMM(ctx ml.Context, x, weight, bias ml.Tensor, stride, padding, dilation int) ml.Tensor {
	kw, kh, ic, oc := weight.Dim(0), weight.Dim(1), weight.Dim(2), weight.Dim(3)
	k := kw * kh * ic
	if k%8 != 0 {
		return Conv2D(ctx, x, weight, bias, stride, padding, dilation)
	}
	col := weight.IM2Col(ctx, x, stride, stride, padding, padding, dilation, dilation) // [K, OW, OH, N]
	ow, oh, n := col.Dim(1), col.Dim(2), col.Dim(3)
	y := weight.Reshape(ctx, k, oc).Mulmat(ctx, col.Reshape(ctx, k, ow*oh*n)) // [OC, OW·OH·N]
	if bias != nil {
		y = y.Add(ctx, bias)
	}
	return FromChannelFirst(ctx, y.Reshape(ctx, oc, ow, oh, n))
}
