package llava

import (
	"cmp"
	"math"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/kvcache"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/nn"
	"github.com/ollama/ollama/ml/nn/rope"
	"github.com/ollama/ollama/model/models/qwen2"

	"github.com/multisc/multisc/bindings"
)

// The language model's forward pass for several sequences at once. The
// weights and their layout are ollama's qwen2 (blk.N.attn_q, ffn_gate, …);
// the pass is ours because batching needs two things its DecoderLayer does
// not do:
//
//   - each sequence attends over its own KV cache only. One shared cache
//     spans the cells of every sequence in the batch, and ggml computes the
//     scores of all of them before the mask drops the other sequences'
//     (three image prompts: 2304 cells a step instead of 768 each);
//   - the products of a decode step (a column a sequence) go through
//     bindings.MulmatColumns, which reads the weights once for all the
//     columns (ggml would hand them to a kernel slower per column than
//     its one-column dot product) and gives each column the bytes it
//     gets alone.
//
// With both, every sequence's logits in a batch are the bytes of the same
// sequence run alone (TestForwardBatchBytes).

// lmOptions are the qwen2 hyper-parameters (ollama keeps its own
// unexported), read from the same metadata keys as qwen2.New.
type lmOptions struct {
	heads, kvHeads, headDim, ropeDim int
	eps, ropeBase, ropeScale         float32
}

func newLMOptions(kv fsggml.KV) lmOptions {
	hidden := int(kv.Uint("embedding_length"))
	heads := int(kv.Uint("attention.head_count"))
	o := lmOptions{
		heads:     heads,
		kvHeads:   int(kv.Uint("attention.head_count_kv", uint32(heads))),
		headDim:   int(kv.Uint("attention.key_length")),
		ropeDim:   int(kv.Uint("rope.dimension_count")),
		eps:       kv.Float("attention.layer_norm_rms_epsilon", 1e-6),
		ropeBase:  kv.Float("rope.freq_base"),
		ropeScale: kv.Float("rope.scaling.factor", 1),
	}
	if heads > 0 {
		o.headDim = cmp.Or(o.headDim, hidden/heads)
	}
	o.ropeDim = cmp.Or(o.ropeDim, o.headDim)
	return o
}

func (o *lmOptions) rope(ctx ml.Context, x, positions ml.Tensor) ml.Tensor {
	return nn.RoPE(ctx, x, positions, o.ropeDim, o.ropeBase, 1/o.ropeScale, rope.WithTypeNeoX())
}

// linear is nn.Linear.Forward with the matrix product of a few columns
// through bindings.MulmatColumns. x [in, n] -> [out, n].
func linear(ctx ml.Context, l *nn.Linear, x ml.Tensor) ml.Tensor {
	y := bindings.MulmatColumns(ctx, l.Weight, x)
	if l.Bias != nil {
		y = y.Add(ctx, l.Bias)
	}
	return y
}

// span is one sequence's run of consecutive items in a forward pass.
type span struct{ seq, off, len int }

// lmPass is the state of one forward pass shared by its layers: the items
// grouped by sequence, each group with its own cache (caches[seq]).
type lmPass struct {
	positions ml.Tensor
	spans     []span
	caches    []*kvcache.Causal
	opts      *lmOptions
}

// layerForward is qwen2's DecoderLayer.Forward on h [H, n], with attention
// per sequence. outputs (or nil) keeps only those items after attention, as
// qwen2 does on its last layer.
func (p *lmPass) layerForward(ctx ml.Context, i int, l *qwen2.DecoderLayer, h, outputs ml.Tensor) ml.Tensor {
	residual := h
	x := l.AttentionNorm.Forward(ctx, h, p.opts.eps)
	x = p.attention(ctx, i, l.Attention, x)
	if outputs != nil {
		x = x.Rows(ctx, outputs)
		residual = residual.Rows(ctx, outputs)
	}
	x = x.Add(ctx, residual)
	residual = x
	x = l.MLPNorm.Forward(ctx, x, p.opts.eps)
	m := l.MLP
	x = linear(ctx, m.Gate, x).SILU(ctx, linear(ctx, m.Up, x))
	return linear(ctx, m.Down, x).Add(ctx, residual)
}

// attention: x [H, n] -> [H, n].
func (p *lmPass) attention(ctx ml.Context, layer int, a *qwen2.Attention, x ml.Tensor) ml.Tensor {
	o := p.opts
	n := x.Dim(1)
	q := o.rope(ctx, linear(ctx, a.Query, x).Reshape(ctx, o.headDim, o.heads, n), p.positions)
	k := o.rope(ctx, linear(ctx, a.Key, x).Reshape(ctx, o.headDim, o.kvHeads, n), p.positions)
	v := linear(ctx, a.Value, x).Reshape(ctx, o.headDim, o.kvHeads, n)
	scale := 1 / math.Sqrt(float64(o.headDim))
	var out ml.Tensor
	for _, s := range p.spans {
		cache := p.caches[s.seq]
		cache.SetLayer(layer)
		att := nn.Attention(ctx, cols3(ctx, q, s), cols3(ctx, k, s), cols3(ctx, v, s), scale, cache) // [hd, heads, len]
		att = att.Reshape(ctx, o.headDim*o.heads, s.len)
		if out == nil {
			out = att
		} else {
			out = out.Concat(ctx, att, 1)
		}
	}
	return linear(ctx, a.Output, out)
}

// cols3 is the span's items of t [A, B, n]: a contiguous view [A, B, len].
func cols3(ctx ml.Context, t ml.Tensor, s span) ml.Tensor {
	if s.off == 0 && s.len == t.Dim(2) {
		return t
	}
	return t.View(ctx, s.off*t.Stride(2), t.Dim(0), t.Stride(1), t.Dim(1), t.Stride(2), s.len)
}
