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
// Where the time goes. Before bindings' own GEMM (fcn_resnet50 at
// 520×520, f32, 2 threads, -march=x86-64-v3, `perf record` of
// BenchmarkFCN520 on the shared 2-core Xeon): 75% of the samples in
// llamafile's tinyBLAS f32 kernel (register tiling only, ~58 GFLOP/s a
// thread with AVX2, ~75 with AVX-512), 8.5% im2col, 3% the transposes into
// im2col's [W, H, C, N], 2.7% barriers, 2.2% bias adds. Now every product
// here goes through gemm.c (see gemm.go): the 1×1 convs through MulmatF32,
// the k×k and strided 1×1 convs through its implicit im2col (convCFGemm:
// the columns are packed straight from the channel-first input, so
// neither im2col's buffer nor the transpose is made), the bias added in
// the write-back. The whole FCN (BenchmarkFCN520, layout=CWH, medians of
// 5, one locked session, load average 2–3.4) went from 2.56 to 1.50 s
// (5.06 → 2.92 CPU-s) with -march=x86-64-v4 and from 4.05 to 1.61 s
// (6.81 → 3.18 CPU-s) with v3, against PyTorch 1.13's 1.73 and 1.37 s
// (3.40 and 2.71 CPU-s) at the session's start and end: at par, not yet
// reliably under. perf of
// it now: 71% gemm.c's AVX-512 micro-kernel, 7.5% its packing, 5% ggml's
// barriers, 4% memmove (layout copies), 2.3% the residual adds, 1.4% the
// final upsampling. Tried and dropped (with tinyBLAS): a stride-1 3×3
// conv as the sum of its nine taps' 1×1 products over shifted windows of
// a padded input (layer3 65×65×256 dilation 2: 140 ms against 102 ms
// with im2col at one thread).

// Conv2DCF is torch.nn.Conv2d on channel-first x [C, W, H, N] with weight
// [KW, KH, C, OC] and an optional bias [OC]; it returns [OC, OW, OH, N].
func Conv2DCF(ctx ml.Context, x, weight, bias ml.Tensor, stride, padding, dilation int) ml.Tensor {
	kw, kh, ic, oc := weight.Dim(0), weight.Dim(1), weight.Dim(2), weight.Dim(3)
	w, h, n := x.Dim(1), x.Dim(2), x.Dim(3)
	var y ml.Tensor
	switch {
	case kw == 1 && kh == 1 && padding == 0 && stride == 1 && weight.DType() == ml.DTypeF32:
		y = mulmatBiasF32(ctx, weight.Reshape(ctx, ic, oc), x.Reshape(ctx, ic, w*h*n), bias) // [OC, W·H·N]
		return y.Reshape(ctx, oc, w, h, n)
	default:
		if y = convCFGemm(ctx, x, weight, bias, stride, padding, dilation); y != nil { // [OC, OW, OH, N]
			return y
		}
		if kw == 1 && kh == 1 && padding == 0 {
			ow, oh := (w-1)/stride+1, (h-1)/stride+1
			if stride > 1 {
				// Every stride-th column and row: a strided view, made contiguous.
				x = x.View(ctx, 0, ic, x.Stride(1)*stride, ow, x.Stride(2)*stride, oh, x.Stride(3), n).Contiguous(ctx)
			}
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
