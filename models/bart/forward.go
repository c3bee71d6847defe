package bart

import (
	"math"

	"github.com/ollama/ollama/ml"
)

// negInf is the additive mask value of a hidden key (HF adds finfo.min;
// both give an exact zero after the softmax).
var negInf = float32(math.Inf(-1))

// attend runs BartAttention. x is the query input [D, Tq, B]. k and v are
// the keys [hd, Tk, H, B'] and values [Tk, hd, H, B'] (B a multiple of
// B': a key batch entry serves B/B' consecutive query entries, HF's
// repeat_interleave over beams). mask, when not nil, is added to the scores
// [Tk, Tq, H, B] and broadcasts over its size-1 dimensions. Returns [D, Tq, B].
func (a *Attention) attend(ctx ml.Context, x, k, v, mask ml.Tensor, heads int) ml.Tensor {
	d, tq, b := x.Dim(0), x.Dim(1), x.Dim(2)
	hd := d / heads
	q := a.Query.Forward(ctx, x).Scale(ctx, 1/math.Sqrt(float64(hd)))
	q = q.Reshape(ctx, hd, heads, tq, b).Permute(ctx, 0, 2, 1, 3) // [hd, Tq, H, B]
	kq := k.MulmatFullPrec(ctx, q)                                // [Tk, Tq, H, B]
	if mask != nil {
		kq = kq.Add(ctx, mask)
	}
	kq = kq.Softmax(ctx)
	o := v.Mulmat(ctx, kq)                                   // [hd, Tq, H, B]
	o = o.Permute(ctx, 0, 2, 1, 3).Contiguous(ctx, d, tq, b) // [D, Tq, B]
	return a.Output.Forward(ctx, o)
}

// keys projects x [D, T, B] to attention keys [hd, T, H, B] (a view).
func (a *Attention) keys(ctx ml.Context, x ml.Tensor, heads int) ml.Tensor {
	d, t, b := x.Dim(0), x.Dim(1), x.Dim(2)
	return a.Key.Forward(ctx, x).Reshape(ctx, d/heads, heads, t, b).Permute(ctx, 0, 2, 1, 3)
}

// values projects x [D, T, B] to attention values [T, hd, H, B] (a view).
func (a *Attention) values(ctx ml.Context, x ml.Tensor, heads int) ml.Tensor {
	d, t, b := x.Dim(0), x.Dim(1), x.Dim(2)
	return a.Value.Forward(ctx, x).Reshape(ctx, d/heads, heads, t, b).Permute(ctx, 1, 2, 0, 3)
}

// embed is embed_tokens(ids)·embed_scale + embed_positions(p0..p0+T) followed by
// layernorm_embedding: ids [T·B] → [D, T, B].
func (m *Model) embed(ctx ml.Context, pos, norm ml.Tensor, normB ml.Tensor, ids []int32, t, b, p0 int) ml.Tensor {
	x := m.Shared.Forward(ctx, ctx.Input().FromInts(ids, len(ids))).Reshape(ctx, m.DModel, t, b)
	if m.ScaleEmbedding {
		x = x.Scale(ctx, math.Sqrt(float64(m.DModel)))
	}
	idx := make([]int32, t)
	for i := range idx {
		idx[i] = int32(p0 + i + posOffset)
	}
	x = x.Add(ctx, pos.Rows(ctx, ctx.Input().FromInts(idx, t)))
	return x.LayerNorm(ctx, norm, normB, lnEps)
}

// keyMask is the additive padding mask [S, 1, 1, B] of right-padded inputs
// of the given lengths.
func keyMask(ctx ml.Context, lens []int, s int) ml.Tensor {
	v := make([]float32, s*len(lens))
	for i, n := range lens {
		for j := n; j < s; j++ {
			v[i*s+j] = negInf
		}
	}
	return ctx.Input().FromFloats(v, s, 1, 1, len(lens))
}

// Encode runs BartEncoder on right-padded ids [S·B] (row i holds lens[i]
// real tokens) and returns the last hidden state [D, S, B].
func (m *Model) Encode(ctx ml.Context, ids []int32, lens []int, s int) ml.Tensor {
	b := len(lens)
	e := m.Encoder
	x := m.embed(ctx, e.Positions.Weight, e.EmbedNorm.Weight, e.EmbedNorm.Bias, ids, s, b, 0)
	mask := keyMask(ctx, lens, s)
	for i, l := range e.Layers {
		lctx := layerCtx(ctx, i)
		h := l.SelfAttn.attend(lctx, x, l.SelfAttn.keys(lctx, x, m.EncHeads), l.SelfAttn.values(lctx, x, m.EncHeads).Contiguous(lctx), mask, m.EncHeads)
		x = l.SelfAttnNorm.Forward(lctx, x.Add(lctx, h), lnEps)
		h = l.FC2.Forward(lctx, activations[m.Activation](lctx, l.FC1.Forward(lctx, x)))
		x = l.FinalNorm.Forward(lctx, x.Add(lctx, h), lnEps)
	}
	return x
}

// State is the decoder's incremental state for a batch of NB decoder rows
// (inputs × beams): per decoder layer the self-attention keys [D, MaxLen, NB]
// and values, stored transposed [MaxLen, D, NB] so that attention reads
// them without a copy, of every position so far; and the cross-attention
// keys [hd, S, H, B] and values [S, hd, H, B] of the B encoder inputs,
// computed once. Its tensors live outside any graph; Close frees them.
type State struct {
	ctx          ml.Context
	selfK, selfV []ml.Tensor
	crossK       []ml.Tensor
	crossV       []ml.Tensor
	crossMask    []float32 // [S, 1, 1, NB]
	S, B, NB     int
	MaxLen       int
	Pos          int // positions decoded so far
}

// Close frees the state's tensors.
func (st *State) Close() {
	if st != nil && st.ctx != nil {
		st.ctx.Close()
		st.ctx = nil
	}
}

// NewState allocates the decoder state for B inputs of padded length S,
// beams rows each, decoding at most maxLen positions.
func (m *Model) NewState(lens []int, s, beams, maxLen int) *State {
	b := len(lens)
	nb := b * beams
	hd := m.DModel / m.DecHeads
	st := &State{ctx: m.Backend().NewContextSize(8 * len(m.Decoder.Layers)), S: s, B: b, NB: nb, MaxLen: maxLen}
	for i := range m.Decoder.Layers {
		lctx := layerCtx(st.ctx, i)
		st.selfK = append(st.selfK, lctx.Zeros(ml.DTypeF32, m.DModel, maxLen, nb))
		st.selfV = append(st.selfV, lctx.Zeros(ml.DTypeF32, maxLen, m.DModel, nb))
		st.crossK = append(st.crossK, lctx.Zeros(ml.DTypeF32, hd, s, m.DecHeads, b))
		st.crossV = append(st.crossV, lctx.Zeros(ml.DTypeF32, s, hd, m.DecHeads, b))
	}
	st.crossMask = make([]float32, s*nb)
	for i := range nb {
		for j := lens[i/beams]; j < s; j++ {
			st.crossMask[i*s+j] = negInf
		}
	}
	return st
}

// CrossKV adds to the graph the cross-attention keys and values of the
// encoder output enc [D, S, B], written into the state.
func (m *Model) CrossKV(ctx ml.Context, st *State, enc ml.Tensor) {
	for i, l := range m.Decoder.Layers {
		lctx := layerCtx(ctx, i)
		ctx.Forward(l.CrossAttn.keys(lctx, enc, m.DecHeads).Copy(lctx, st.crossK[i]))
		ctx.Forward(l.CrossAttn.values(lctx, enc, m.DecHeads).Copy(lctx, st.crossV[i]))
	}
}

// Reorder adds to the graph the beam reordering of the self-attention
// cache: row r takes the keys and values of row src[r] (beam_search's
// _reorder_cache). Only the st.Pos positions decoded so far move.
func (m *Model) Reorder(ctx ml.Context, st *State, src []int32) {
	if st.Pos == 0 {
		return
	}
	idx := ctx.Input().FromInts(src, len(src))
	f := 4 // bytes per f32
	for i := range m.Decoder.Layers {
		lctx := layerCtx(ctx, i)
		k := st.selfK[i].View(lctx, 0, m.DModel*st.Pos, m.DModel*st.MaxLen*f, st.NB)
		ctx.Forward(k.Rows(lctx, idx).Copy(lctx, k))
		v := st.selfV[i].Reshape(lctx, st.MaxLen*m.DModel, st.NB)
		ctx.Forward(v.Rows(lctx, idx).Copy(lctx, v))
	}
}

// Step runs BartDecoder on the next T tokens of each of the NB rows (ids
// [T·NB], row-major by row) at positions st.Pos … st.Pos+T−1, appends their
// keys and values to the cache and returns the logits [V, T, NB] (LM head
// tied to the shared embedding, plus final_logits_bias). T > 1 applies the
// causal mask among the new tokens.
func (m *Model) Step(ctx ml.Context, st *State, ids []int32, t int) ml.Tensor {
	d, nb, p0 := m.DModel, st.NB, st.Pos
	hd := d / m.DecHeads
	dec := m.Decoder
	x := m.embed(ctx, dec.Positions.Weight, dec.EmbedNorm.Weight, dec.EmbedNorm.Bias, ids, t, nb, p0)
	tk := p0 + t
	var causal ml.Tensor
	if t > 1 {
		v := make([]float32, tk*t)
		for q := range t {
			for k := p0 + q + 1; k < tk; k++ {
				v[q*tk+k] = negInf
			}
		}
		causal = ctx.Input().FromFloats(v, tk, t)
	}
	cross := ctx.Input().FromFloats(st.crossMask, st.S, 1, 1, nb)
	f := 4 // bytes per f32
	for i, l := range dec.Layers {
		lctx := layerCtx(ctx, i)
		// append this step's keys [D, T, NB] and values (transposed, [T, D, NB])
		kDst := st.selfK[i].View(lctx, p0*d*f, d, d*f, t, d*st.MaxLen*f, nb)
		ctx.Forward(l.SelfAttn.Key.Forward(lctx, x).Copy(lctx, kDst))
		vDst := st.selfV[i].View(lctx, p0*f, t, st.MaxLen*f, d, st.MaxLen*d*f, nb)
		ctx.Forward(l.SelfAttn.Value.Forward(lctx, x).Permute(lctx, 1, 0, 2, 3).Copy(lctx, vDst))
		// read positions 0 … tk−1: keys [hd, Tk, H, NB], values [Tk, hd, H, NB]
		k := st.selfK[i].View(lctx, 0, hd, hd*f, m.DecHeads, d*f, tk, d*st.MaxLen*f, nb).Permute(lctx, 0, 2, 1, 3)
		v := st.selfV[i].View(lctx, 0, tk, st.MaxLen*f, hd, hd*st.MaxLen*f, m.DecHeads, d*st.MaxLen*f, nb)
		h := l.SelfAttn.attend(lctx, x, k, v, causal, m.DecHeads)
		x = l.SelfAttnNorm.Forward(lctx, x.Add(lctx, h), lnEps)
		h = l.CrossAttn.attend(lctx, x, st.crossK[i], st.crossV[i], cross, m.DecHeads)
		x = l.CrossAttnNorm.Forward(lctx, x.Add(lctx, h), lnEps)
		h = l.FC2.Forward(lctx, activations[m.Activation](lctx, l.FC1.Forward(lctx, x)))
		x = l.FinalNorm.Forward(lctx, x.Add(lctx, h), lnEps)
	}
	return m.Shared.Weight.Mulmat(ctx, x).Add(ctx, m.FinalLogitsBias)
}
