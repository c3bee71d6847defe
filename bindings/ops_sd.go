package bindings

import "github.com/ollama/ollama/ml"

// Attention is softmax(scale·KᵀQ + mask)·V per head through ggml's fused
// soft_max_ext (ml.ScaledDotProductAttention without a KV cache): q
// [dh, H, Lq, B], k and v [dh, H, Lk, B], mask nil or [Lk, Lq] (f32,
// additive, broadcast over heads and batch). It returns [dh, H, Lq, B].
//
// The backend must run without flash attention (bindings.Open never turns it
// on): V is handed over already permuted, as that path wants it, and the
// mask keeps its f32 type.
//
// Q and K are copied head-major first ([dh, L, H, B] contiguous, handed
// over as permuted views of it), so that the K·Q product has a contiguous
// right operand: ggml's CPU matmul runs its fast tiled GEMM (llamafile
// sgemm) only then, and falls back to row-by-row dot products otherwise.
func Attention(ctx ml.Context, q, k, v, mask ml.Tensor, scale float64) ml.Tensor {
	headMajor := func(t ml.Tensor) ml.Tensor {
		return t.Permute(ctx, 0, 2, 1, 3).Contiguous(ctx).Permute(ctx, 0, 2, 1, 3)
	}
	vt := v.Permute(ctx, 1, 2, 0, 3).Contiguous(ctx) // [Lk, dh, H, B]
	return headMajor(q).(ml.ScaledDotProductAttention).ScaledDotProductAttention(ctx, headMajor(k), vt, mask, nil, nil, scale, true)
}
