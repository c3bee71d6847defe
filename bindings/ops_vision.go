package bindings

import "github.com/ollama/ollama/ml"

// Channel-first convolution for the ResNet family (models/resnet, fcn,
// detr). Activations are [C, W, H, N] (channels innermost) instead of the
// [W, H, C, N] of Conv2D, so that:
//   - a 1×1 conv is one matrix product of the kernel [IC, OC] with the
//     activations [IC, W·H·N] (no im2col, no output permute);
//   - a k×k conv is im2col of the [W, H, C, N] view, then the kernel times
//     the columns, which again lands channel-first;
//   - the product has the kernel as ggml's src0 (the weights operand, as in
//     every LLM matmul), which is the orientation ggml's CPU kernels and
//     llamafile's sgemm are tuned for.
//
// Where the time goes (fcn_resnet50 at 520×520, f32, 2 threads, built with
// -O3 -march=x86-64-v3 as the README says; `perf record` of
// BenchmarkFCN520, shared 2-core Xeon): 75% of the samples are in
// llamafile's tinyBLAS 4×3 f32 kernel (the cgo build defines
// GGML_USE_LLAMAFILE; tinyBLAS takes f32×f32 when k is a multiple of 8, 16
// with AVX-512, m a multiple of 4 and n ≥ 2, and f16 weights only against
// activations converted to f16 first), 8.5% im2col, 3% the transposes into
// im2col's [W, H, C, N], 2.7% ggml's spinning barriers, 2.2% bias adds,
// 1.6% ggml's own f32 dot products (the matmuls tinyBLAS refuses: the
// stem's k = 7·7·3 = 147 and the 21-class 1×1), 0.7% ReLU. So the GEMM
// kernel decides; the layout does not. Tried and dropped: a stride-1 3×3
// conv as the sum of its nine taps' 1×1 products over shifted windows of
// a padded input (no im2col, k = IC instead of 9·IC, so the operands stay
// in cache) was slower at one thread (layer3 65×65×256 dilation 2: 140 ms
// against 102 ms with im2col; layer4 65×65×512 dilation 4: 439 against
// 378 ms): tinyBLAS is not bound by k's cache footprint, and the taps add
// eight full-size adds. Building with -march=x86-64-v4 (AVX-512 tinyBLAS,
// 4×6 tiles of 16 lanes) cut the whole FCN's CPU time by 23% (median 5.04
// against 6.52 CPU-s at 2 threads).

// Conv2DCF is torch.nn.Conv2d on channel-first x [C, W, H, N] with weight
// [KW, KH, C, OC] and an optional bias [OC]; it returns [OC, OW, OH, N].
func Conv2DCF(ctx ml.Context, x, weight, bias ml.Tensor, stride, padding, dilation int) ml.Tensor {
	kw, kh, ic, oc := weight.Dim(0), weight.Dim(1), weight.Dim(2), weight.Dim(3)
	w, h, n := x.Dim(1), x.Dim(2), x.Dim(3)
	var y ml.Tensor
	switch {
	case kw == 1 && kh == 1 && padding == 0 && stride == 1:
		y = mulmatBiasF32(ctx, weight.Reshape(ctx, ic, oc), x.Reshape(ctx, ic, w*h*n), bias) // [OC, W·H·N]
		return y.Reshape(ctx, oc, w, h, n)
	default:
		if y = convCFGemm(ctx, x, weight, bias, stride, padding, dilation); y != nil { // [OC, OW, OH, N]
			return y
		}
		if kw == 1 && kh == 1 && padding == 0 {
			// Every stride-th column and row: a strided view, made contiguous.
			ow, oh := (w-1)/stride+1, (h-1)/stride+1
			x = x.View(ctx, 0, ic, x.Stride(1)*stride, ow, x.Stride(2)*stride, oh, x.Stride(3), n).Contiguous(ctx)
			return mulmatBiasF32(ctx, weight.Reshape(ctx, ic, oc), x.Reshape(ctx, ic, ow*oh*n), bias).Reshape(ctx, oc, ow, oh, n)
		}
		xs := x.Permute(ctx, 2, 0, 1, 3).Contiguous(ctx)                                    // [W, H, C, N]
		col := weight.IM2Col(ctx, xs, stride, stride, padding, padding, dilation, dilation) // [K, OW, OH, N]
		ow, oh := col.Dim(1), col.Dim(2)
		y = mulmatBiasF32(ctx, weight.Reshape(ctx, kw*kh*ic, oc), col.Reshape(ctx, kw*kh*ic, ow*oh*n), bias)
		return y.Reshape(ctx, oc, ow, oh, n)
	}
}

// ToChannelFirst turns [W, H, C, N] into [C, W, H, N] (a copy).
func ToChannelFirst(ctx ml.Context, x ml.Tensor) ml.Tensor {
	return x.Permute(ctx, 1, 2, 0, 3).Contiguous(ctx)
}

// FromChannelFirst turns [C, W, H, N] into [W, H, C, N] (a copy).
func FromChannelFirst(ctx ml.Context, x ml.Tensor) ml.Tensor {
	return x.Permute(ctx, 2, 0, 1, 3).Contiguous(ctx)
}
