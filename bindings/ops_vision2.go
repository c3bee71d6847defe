package bindings

import "github.com/ollama/ollama/ml"

// Conv2DGEMM is Conv2D (torch.nn.Conv2d on x [W, H, C, N], weight
// [KW, KH, C, OC], optional bias [OC], result [OW, OH, OC, N]) through
// bindings' own GEMM (gemm.c, MulmatF32) with the kernel as the product's
// a operand (m = OC) and the channel-first product [OC, OW, OH, N]
// transposed back. With at least 16 input channels (ConvGEMMImplicit) the
// input is made channel-first and the columns are packed straight from it
// (convCFGemm, no im2col buffer); otherwise im2col, then the product.
//
// Where gemm.c does not take the product (an f16 kernel, a kernel in GPU
// memory, a product too small to pay) it is ggml's mul_mat, whose fast f32
// path (llamafile's tinyBLAS) needs m a multiple of 4 (hence the kernel as
// a, not the im2col columns with m = OW·OH·N: AlexNet's maps at a 512×512
// input, 127², 63², 31², are all odd) and k = KW·KH·C a multiple of 8 (16
// with AVX-512). For that path, where k is not (ResNet's 7×7×3 stem: 147;
// AlexNet's 11×11×3: 363) and the kernel is f32 without dilation, the
// kernel grows by t zero columns and rows (8×8, 12×12: the smallest t
// with (KW+t)(KH+t)·C a multiple of 16, if that adds at most half the
// work) and the input by t zero columns and rows at its end, which keeps
// the output size for any stride ((W+t+2p−KW−t)/s+1) and, the extra taps
// being zero, the values; otherwise Conv2DGEMM is Conv2D.
//
// Same function as Conv2D up to f32 rounding (TestConv2DGEMM, and
// TestConvThroughGemm with gemm.c taking every size). Measured with
// -march=x86-64-v4 at 2 threads on the shared 2-core Xeon (CPU-ms per op,
// medians of 3, one session at load average 2.6–3.0,
// BenchmarkAlexNetConv*, BenchmarkResNetStem_520x520x3): Conv2D against
// Conv2DGEMM, AlexNet's conv1 on a 512×512 pair 154 → 63, conv2 198 → 91,
// conv3 96 → 47, ResNet's stem at 520×520 143 → 106. With tinyBLAS (v3)
// it had been conv2 254 → 134, conv3 138 → 79.
func Conv2DGEMM(ctx ml.Context, x, weight, bias ml.Tensor, stride, padding, dilation int) ml.Tensor {
	if ConvGEMMImplicit && weight.Dim(2) >= 16 {
		if y := convCFGemm(ctx, ToChannelFirst(ctx, x), weight, bias, stride, padding, dilation); y != nil {
			return FromChannelFirst(ctx, y)
		}
	}
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

// ConvGEMMImplicit makes Conv2DGEMM go channel-first through gemm.c's
// implicit im2col (convCFGemm) where it applies and the input has at
// least 16 channels, instead of im2col and MulmatF32 (a switch for the
// benchmarks that compare the two). Measured at 2 threads, -march=x86-64-v4
// (CPU-ms per op, medians of 3): AlexNet's conv2 on a 512×512 pair 69 → 51,
// conv3 43 → 32; on 3 channels (AlexNet's and ResNet's stems) the tap
// segments are 3 floats long and it was slower (55 → 59, 63 → 67; in
// another session the stem went 106 → 85: within the noise).
var ConvGEMMImplicit = true

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
