package bindings

import (
	"math"

	"github.com/ollama/ollama/ml"
)

// Ops that ollama's ml.Tensor lacks, composed from it. Each is tested against
// a plain-Go reference in ops_test.go. Image tensors are [W, H, C, N] (ggml
// order of PyTorch's NCHW).

// GroupNorm normalizes x [W, H, C, N] over groups of C/groups channels
// (mean and variance over W·H·C/groups elements), then applies the
// per-channel affine weight and bias [C] when given.
func GroupNorm(ctx ml.Context, x ml.Tensor, groups int, eps float32, weight, bias ml.Tensor) ml.Tensor {
	w, h, c, n := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	// Each group is contiguous in [W, H, C]: one row of a [W·H·C/G, G, N] view.
	y := x.Reshape(ctx, w*h*c/groups, groups, n).LayerNorm(ctx, nil, nil, eps)
	y = y.Reshape(ctx, w, h, c, n)
	return channelAffine(ctx, y, weight, bias)
}

// channelAffine computes x·weight + bias with [C] vectors broadcast over
// [W, H, C, N]; a nil weight or bias is skipped.
func channelAffine(ctx ml.Context, x, weight, bias ml.Tensor) ml.Tensor {
	c := x.Dim(2)
	if weight != nil {
		x = x.Mul(ctx, weight.Reshape(ctx, 1, 1, c))
	}
	if bias != nil {
		x = x.Add(ctx, bias.Reshape(ctx, 1, 1, c))
	}
	return x
}

// Conv2D is a 2-D convolution of x [W, H, C, N] with weight
// [KW, KH, C, OC] plus an optional bias [OC], as torch.nn.Conv2d with
// square stride, padding and dilation.
func Conv2D(ctx ml.Context, x, weight, bias ml.Tensor, stride, padding, dilation int) ml.Tensor {
	y := weight.Conv2D(ctx, x, stride, stride, padding, padding, dilation, dilation)
	return channelAffine(ctx, y, nil, bias)
}

// BatchNorm is inference-mode batch normalization of x [W, H, C, N]:
// (x − mean)/√(var + eps)·weight + bias, with [C] statistics. Converters
// normally fold it into the preceding conv instead (FoldBatchNorm).
func BatchNorm(ctx ml.Context, x, mean, variance, weight, bias ml.Tensor, eps float32) ml.Tensor {
	c := x.Dim(2)
	// 1/√(var+eps) as a graph: eps broadcast from a one-element tensor.
	epsT := ctx.Input().FromFloats([]float32{eps}, 1)
	inv := variance.Add(ctx, epsT).Sqrt(ctx)
	y := x.Sub(ctx, mean.Reshape(ctx, 1, 1, c)).Div(ctx, inv.Reshape(ctx, 1, 1, c))
	return channelAffine(ctx, y, weight, bias)
}

// FoldBatchNorm folds inference batch norm into the conv before it, in
// plain Go at conversion time: w' = w·s, b' = (b − mean)·s + beta with
// s = gamma/√(var + eps). w is [OC, ...] in PyTorch order (so each output
// channel's weights are contiguous); b may be nil (conv without bias).
func FoldBatchNorm(w, b []float32, outC int, mean, variance, gamma, beta []float32, eps float32) (wf, bf []float32) {
	per := len(w) / outC
	wf = make([]float32, len(w))
	bf = make([]float32, outC)
	for o := range outC {
		s := float64(gamma[o]) / math.Sqrt(float64(variance[o])+float64(eps))
		for i := range per {
			wf[o*per+i] = float32(float64(w[o*per+i]) * s)
		}
		b0 := 0.0
		if b != nil {
			b0 = float64(b[o])
		}
		bf[o] = float32((b0-float64(mean[o]))*s + float64(beta[o]))
	}
	return wf, bf
}

// Upsample is nearest-neighbour upsampling of x [W, H, C, N] by an integer
// factor (torch.nn.Upsample(scale_factor=s, mode="nearest")).
func Upsample(ctx ml.Context, x ml.Tensor, scale int) ml.Tensor {
	return x.Interpolate(ctx, [4]int{x.Dim(0) * scale, x.Dim(1) * scale, x.Dim(2), x.Dim(3)}, ml.SamplingModeNearest)
}

// MaxPool2D is torch.nn.MaxPool2d(kernel, stride, padding) on x
// [W, H, C, N] (floor mode, dilation 1; padding ≤ kernel/2 as PyTorch
// requires). It pools rows then columns, since a max over a rectangle is the
// max of the maxima of its rows.
//
// Padding replicates the edge instead of inserting −∞: every window that
// overlaps the border also holds the edge element the padding copies, so the
// result is the max over the valid elements, as PyTorch's, and negative
// inputs are never beaten by a padded zero.
func MaxPool2D(ctx ml.Context, x ml.Tensor, kernel, stride, padding int) ml.Tensor {
	w, h, c, n := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	// Along H: rows of W stay contiguous, so every tap is a strided view of
	// whole rows (ggml's element-wise ops are fast on long rows).
	y := maxPoolDim1(ctx, x.Reshape(ctx, w, h, c*n), kernel, stride, padding) // [W, OH, C·N]
	oh := y.Dim(1)
	// Along W: transpose W into dim 1 and pool the same way.
	y = y.Permute(ctx, 1, 0, 2, 3).Contiguous(ctx)   // [OH, W, C·N]
	y = maxPoolDim1(ctx, y, kernel, stride, padding) // [OH, OW, C·N]
	ow := y.Dim(1)
	return y.Permute(ctx, 1, 0, 2, 3).Contiguous(ctx, ow, oh, c, n) // [OW, OH, C, N]
}

// maxPoolDim1 pools x [A, L, B] along L with a window of k, stride s and
// replicated padding p, giving [A, (L+2p−k)/s + 1, B].
func maxPoolDim1(ctx ml.Context, x ml.Tensor, k, s, p int) ml.Tensor {
	a, l, b := x.Dim(0), x.Dim(1), x.Dim(2)
	if p > 0 {
		row := x.Stride(1)
		first := x.View(ctx, 0, a, row, 1, x.Stride(2), b).Repeat(ctx, 1, p)
		last := x.View(ctx, (l-1)*row, a, row, 1, x.Stride(2), b).Repeat(ctx, 1, p)
		x = first.Concat(ctx, x, 1).Concat(ctx, last, 1)
		l += 2 * p
	}
	out := (l-k)/s + 1
	row := x.Stride(1)
	var m ml.Tensor
	for d := range k {
		// Tap d of every window: rows d, d+s, d+2s, ...
		tap := x.View(ctx, d*row, a, s*row, out, x.Stride(2), b) // [A, out, B]
		if m == nil {
			m = tap.Contiguous(ctx)
			continue
		}
		// max(m, tap) = m + relu(tap − m)
		m = m.Add(ctx, tap.Sub(ctx, m).RELU(ctx))
	}
	return m
}

// MulmatColumnsMax is the most columns MulmatColumns keeps on the
// one-column arithmetic; wider products (prompt passes) go to w.Mulmat.
const MulmatColumnsMax = 8

// MulmatColumns is w.Mulmat(ctx, x) for a weight w [K, M] and a few columns
// x [K, n] (n ≤ MulmatColumnsMax), the decode step of n sequences: [M, n],
// each column the bytes that w.Mulmat of that column alone gives, so a
// sequence decoded in a batch gets the logits it gets alone.
//
// Why: for two or more columns ggml hands a 2-D product to llamafile's
// tinyBLAS, slower per column than the dot product one column gets. As n
// batches of one column ([K, 1, n], the weight broadcast over them) the
// product stays on ggml's chunked loop of one-column dot products, which
// reads 16 weight rows at a time for all the columns; q8_0 and q4_0
// weights go to qdot.c instead, which also does a weight block's own work
// once for all the columns. BenchmarkMulmatColumns (Qwen1.5-0.5B's output
// head, q8_0 [1024, 151936], 2 threads, AMD EPYC, -march=x86-64-v4): one
// column 5.2–6.1 ms through ggml, 4.7–5.1 through qdot.c; three columns
// 19.4–22.3 ms through ggml's 2-D product, 12.0–13.4 through the chunked
// loop, 5.3–5.8 through qdot.c (the weight's 165 MB from memory: the same
// time as one column).
//
// Weights off the host (a GPU) keep w.Mulmat: their backend batches columns
// its own way.
func MulmatColumns(ctx ml.Context, w, x ml.Tensor) ml.Tensor {
	k, n := x.Dim(0), x.Dim(1)
	if n > MulmatColumnsMax || x.Dim(2) != 1 || x.Dim(3) != 1 {
		return w.Mulmat(ctx, x) // a prompt pass: no checks through cgo
	}
	if qdotTakes(w, x) {
		return qdotMulmat(ctx, w, x)
	}
	if n < 2 || !contiguousX(x) || !weightOnHost(w) {
		return w.Mulmat(ctx, x)
	}
	return w.Mulmat(ctx, x.Reshape(ctx, k, 1, n)).Reshape(ctx, w.Dim(1), n)
}
