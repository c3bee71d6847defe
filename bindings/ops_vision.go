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

// Conv2DCF is torch.nn.Conv2d on channel-first x [C, W, H, N] with weight
// [KW, KH, C, OC] and an optional bias [OC]; it returns [OC, OW, OH, N].
func Conv2DCF(ctx ml.Context, x, weight, bias ml.Tensor, stride, padding, dilation int) ml.Tensor {
	kw, kh, ic, oc := weight.Dim(0), weight.Dim(1), weight.Dim(2), weight.Dim(3)
	w, h, n := x.Dim(1), x.Dim(2), x.Dim(3)
	var y ml.Tensor
	switch {
	case kw == 1 && kh == 1 && padding == 0:
		if stride > 1 {
			// Every stride-th column and row: a strided view, made contiguous.
			ow, oh := (w-1)/stride+1, (h-1)/stride+1
			x = x.View(ctx, 0, ic, x.Stride(1)*stride, ow, x.Stride(2)*stride, oh, x.Stride(3), n).Contiguous(ctx)
			w, h = ow, oh
		}
		y = weight.Reshape(ctx, ic, oc).Mulmat(ctx, x.Reshape(ctx, ic, w*h*n)) // [OC, W·H·N]
		y = y.Reshape(ctx, oc, w, h, n)
	default:
		xs := x.Permute(ctx, 2, 0, 1, 3).Contiguous(ctx)                                    // [W, H, C, N]
		col := weight.IM2Col(ctx, xs, stride, stride, padding, padding, dilation, dilation) // [K, OW, OH, N]
		ow, oh := col.Dim(1), col.Dim(2)
		y = weight.Reshape(ctx, kw*kh*ic, oc).Mulmat(ctx, col.Reshape(ctx, kw*kh*ic, ow*oh*n))
		y = y.Reshape(ctx, oc, ow, oh, n)
	}
	if bias != nil {
		y = y.Add(ctx, bias)
	}
	return y
}

// ToChannelFirst turns [W, H, C, N] into [C, W, H, N] (a copy).
func ToChannelFirst(ctx ml.Context, x ml.Tensor) ml.Tensor {
	return x.Permute(ctx, 1, 2, 0, 3).Contiguous(ctx)
}

// FromChannelFirst turns [C, W, H, N] into [W, H, C, N] (a copy).
func FromChannelFirst(ctx ml.Context, x ml.Tensor) ml.Tensor {
	return x.Permute(ctx, 2, 0, 1, 3).Contiguous(ctx)
}
