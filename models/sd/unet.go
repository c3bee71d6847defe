package sd

import (
	"fmt"
	"math"

	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/nn"

	"github.com/multisc/multisc/bindings"
)

// UNetOptions is the UNet's configuration (GGUF metadata sd15.unet.*).
type UNetOptions struct {
	ModelChannels int   // 320
	ChannelMult   []int // 1, 2, 4, 4
	Attention     []bool
	ResBlocks     int // per level, 2
	Heads         int // 8
	ContextDim    int // 768
	InChannels    int // 4
	Groups        int // GroupNorm groups, 32
}

// Conv is a torch Conv2d: weight [KW, KH, IC, OC], bias [OC].
type Conv struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Forward runs the conv with stride s and padding p.
func (c *Conv) Forward(ctx ml.Context, x ml.Tensor, s, p int) ml.Tensor {
	return bindings.Conv2D(ctx, x, c.Weight, c.Bias, s, p, 1)
}

// Linear1x1 applies a 1×1 conv to channels-first rows x [C, L, B].
func (c *Conv) Linear1x1(ctx ml.Context, x ml.Tensor) ml.Tensor {
	ic, oc := c.Weight.Dim(2), c.Weight.Dim(3)
	y := c.Weight.Reshape(ctx, ic, oc).Mulmat(ctx, x)
	if c.Bias != nil {
		y = y.Add(ctx, c.Bias)
	}
	return y
}

// Norm is a GroupNorm's affine parameters [C].
type Norm struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// Forward is GroupNorm(groups, C, eps) on x [W, H, C, N].
func (n *Norm) Forward(ctx ml.Context, x ml.Tensor, groups int, eps float32) ml.Tensor {
	return bindings.GroupNorm(ctx, x, groups, eps, n.Weight, n.Bias)
}

// ResBlock is openaimodel.py's ResBlock (use_scale_shift_norm False):
// in_layers = [GroupNorm, SiLU, conv3×3], emb_layers = [SiLU, Linear],
// out_layers = [GroupNorm, SiLU, Dropout, conv3×3], skip_connection = 1×1
// conv when the channel count changes.
type ResBlock struct {
	InNorm  *Norm      `gguf:"in_layers.0"`
	InConv  *Conv      `gguf:"in_layers.2"`
	Emb     *nn.Linear `gguf:"emb_layers.1"`
	OutNorm *Norm      `gguf:"out_layers.0"`
	OutConv *Conv      `gguf:"out_layers.3"`
	Skip    *Conv      `gguf:"skip_connection"`
}

// Forward: x [W, H, C, B], embSiLU = SiLU(time embedding) [E, B].
func (r *ResBlock) Forward(ctx ml.Context, x, embSiLU ml.Tensor, o *UNetOptions) ml.Tensor {
	h := r.InConv.Forward(ctx, r.InNorm.Forward(ctx, x, o.Groups, 1e-5).SILU(ctx), 1, 1)
	e := r.Emb.Forward(ctx, embSiLU) // [OC, B]
	h = h.Add(ctx, e.Reshape(ctx, 1, 1, e.Dim(0), e.Dim(1)))
	h = r.OutConv.Forward(ctx, r.OutNorm.Forward(ctx, h, o.Groups, 1e-5).SILU(ctx), 1, 1)
	if r.Skip != nil {
		x = r.Skip.Forward(ctx, x, 1, 0)
	}
	return x.Add(ctx, h)
}

// CrossAttention is attention.py's CrossAttention: to_q/to_k/to_v without
// bias, to_out.0 with bias; softmax(QKᵀ/√dh)V per head.
type CrossAttention struct {
	Query *nn.Linear `gguf:"to_q"`
	Key   *nn.Linear `gguf:"to_k"`
	Value *nn.Linear `gguf:"to_v"`
	Out   *nn.Linear `gguf:"to_out.0"`
}

// Forward: x [C, L, B] queries, ctxt [Dc, Lc, B] keys/values (x itself for
// self-attention).
func (a *CrossAttention) Forward(ctx ml.Context, x, ctxt ml.Tensor, heads int) ml.Tensor {
	return a.forward(ctx, x, ctxt, heads, nil, nil)
}

// forward is Forward with IP-Adapter's decoupled cross-attention when ip is
// set (see IPCond): the same queries attend to the image tokens' keys and
// values (to_k_ip, to_v_ip of the tokens, computed beforehand) and that
// attention's output, times the scale, is added to the text attention's
// before to_out.
func (a *CrossAttention) forward(ctx ml.Context, x, ctxt ml.Tensor, heads int, ip *IPAttn, cond *IPCond) ml.Tensor {
	l, b := x.Dim(1), x.Dim(2)
	q := a.Query.Forward(ctx, x)
	inner := q.Dim(0)
	dh := inner / heads
	scale := 1 / math.Sqrt(float64(dh))
	lc := ctxt.Dim(1)
	q = q.Reshape(ctx, dh, heads, l, b)
	k := a.Key.Forward(ctx, ctxt).Reshape(ctx, dh, heads, lc, b)
	v := a.Value.Forward(ctx, ctxt).Reshape(ctx, dh, heads, lc, b)
	out := bindings.Attention(ctx, q, k, v, nil, scale)
	if ip != nil && cond != nil && cond.Scale != 0 {
		n := ip.Key.Dim(1)
		ki := ip.Key.Reshape(ctx, dh, heads, n, b)
		vi := ip.Value.Reshape(ctx, dh, heads, n, b)
		oi := bindings.Attention(ctx, q, ki, vi, nil, scale)
		out = out.Add(ctx, oi.Scale(ctx, cond.Scale))
	}
	return a.Out.Forward(ctx, out.Reshape(ctx, inner, l, b))
}

// TransformerBlock is attention.py's BasicTransformerBlock: self-attention,
// cross-attention, GEGLU feed-forward, each pre-LayerNorm with a residual.
type TransformerBlock struct {
	Attn1 *CrossAttention `gguf:"attn1"`
	Attn2 *CrossAttention `gguf:"attn2"`
	FFIn  *nn.Linear      `gguf:"ff.net.0.proj"` // GEGLU projection to 2·inner
	FFOut *nn.Linear      `gguf:"ff.net.2"`
	Norm1 *nn.LayerNorm   `gguf:"norm1"`
	Norm2 *nn.LayerNorm   `gguf:"norm2"`
	Norm3 *nn.LayerNorm   `gguf:"norm3"`
}

// Forward: x [C, L, B], ctxt [Dc, Lc, B].
func (t *TransformerBlock) Forward(ctx ml.Context, x, ctxt ml.Tensor, heads int) ml.Tensor {
	return t.ForwardIP(ctx, x, ctxt, heads, nil, nil)
}

// ForwardIP is Forward with IP-Adapter layers ip on attn2 (nil: none).
func (t *TransformerBlock) ForwardIP(ctx ml.Context, x, ctxt ml.Tensor, heads int, ip *IPAttn, cond *IPCond) ml.Tensor {
	h := t.Norm1.Forward(ctx, x, 1e-5)
	x = x.Add(ctx, t.Attn1.Forward(ctx, h, h, heads))
	x = x.Add(ctx, t.Attn2.forward(ctx, t.Norm2.Forward(ctx, x, 1e-5), ctxt, heads, ip, cond))
	p := t.FFIn.Forward(ctx, t.Norm3.Forward(ctx, x, 1e-5)) // [2·inner, L, B]
	inner := p.Dim(0) / 2
	val := p.View(ctx, 0, inner, p.Stride(1), p.Dim(1), p.Stride(2), p.Dim(2))
	gate := p.View(ctx, inner*p.Stride(0), inner, p.Stride(1), p.Dim(1), p.Stride(2), p.Dim(2)).Contiguous(ctx)
	// GEGLU: value · GELU(gate), exact (erf) GELU as torch's F.gelu.
	h = gate.GELU_ERF(ctx).Mul(ctx, val)
	return x.Add(ctx, t.FFOut.Forward(ctx, h))
}

// SpatialTransformer is attention.py's SpatialTransformer with conv
// proj_in/proj_out (SD 1.x): GroupNorm(eps 1e-6), proj_in, transformer
// blocks over the H·W positions, proj_out, residual. GGUF names say "tb" for
// transformer_blocks (see the package comment).
type SpatialTransformer struct {
	Norm    *Norm               `gguf:"norm"`
	ProjIn  *Conv               `gguf:"proj_in"`
	Blocks  []*TransformerBlock `gguf:"tb"`
	ProjOut *Conv               `gguf:"proj_out"`
}

// Forward: x [W, H, C, B], ctxt [Dc, Lc, B].
func (s *SpatialTransformer) Forward(ctx ml.Context, x, ctxt ml.Tensor, o *UNetOptions) ml.Tensor {
	return s.forward(ctx, x, ctxt, o, nil, nil)
}

// forward is Forward with IP-Adapter layers ips, one per transformer block
// (nil: none).
func (s *SpatialTransformer) forward(ctx ml.Context, x, ctxt ml.Tensor, o *UNetOptions, ips []*IPAttn, cond *IPCond) ml.Tensor {
	w, h, c, b := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	y := s.Norm.Forward(ctx, x, o.Groups, 1e-6)
	y = y.Permute(ctx, 1, 2, 0, 3).Contiguous(ctx, c, w*h, b) // [C, W·H, B]
	y = s.ProjIn.Linear1x1(ctx, y)
	for i, blk := range s.Blocks {
		var ip *IPAttn
		if i < len(ips) {
			ip = ips[i]
		}
		y = blk.ForwardIP(ctx, y, ctxt, o.Heads, ip, cond)
	}
	y = s.ProjOut.Linear1x1(ctx, y)
	y = y.Reshape(ctx, c, w, h, b).Permute(ctx, 2, 0, 1, 3).Contiguous(ctx) // [W, H, C, B]
	return y.Add(ctx, x)
}

// UNetLayer is one position of a TimestepEmbedSequential (input_blocks.N.M,
// middle_block.M, output_blocks.N.M): exactly one of its parts is present,
// as the configuration's plan says (planUNet).
type UNetLayer struct {
	ConvIn *Conv // input_blocks.0.0 (conv_in): no name of its own
	*ResBlock
	*SpatialTransformer
	Op     *Conv `gguf:"op"`   // Downsample: conv 3×3 stride 2 pad 1
	UpConv *Conv `gguf:"conv"` // Upsample: nearest ×2, conv 3×3 pad 1
	kind   layerKind
}

// UNetSeq is one TimestepEmbedSequential.
type UNetSeq struct {
	Layers []*UNetLayer
}

// UNet is openaimodel.py's UNetModel with SD 1.5's options.
type UNet struct {
	TimeIn  *nn.Linear `gguf:"time_embed.0"`
	TimeOut *nn.Linear `gguf:"time_embed.2"`
	Input   []*UNetSeq `gguf:"input_blocks"`
	Middle  *UNetSeq   `gguf:"middle_block"`
	Output  []*UNetSeq `gguf:"output_blocks"`
	OutNorm *Norm      `gguf:"out.0"`
	OutConv *Conv      `gguf:"out.2"`

	UNetOptions
	plan unetPlan
}

type layerKind int

const (
	kindConvIn layerKind = iota
	kindRes
	kindAttn
	kindDown
	kindUp
)

// unetLayerPlan is one layer of the plan: its kind and channels.
type unetLayerPlan struct {
	kind    layerKind
	in, out int
}

type unetPlan struct {
	input, output [][]unetLayerPlan
	middle        []unetLayerPlan
}

// planUNet lays out the blocks exactly as UNetModel.__init__ does.
func planUNet(o *UNetOptions) (unetPlan, error) {
	var p unetPlan
	if len(o.ChannelMult) == 0 || len(o.Attention) != len(o.ChannelMult) || o.ResBlocks < 1 || o.ModelChannels < 1 ||
		o.Heads < 1 || o.Groups < 1 || o.InChannels < 1 || o.ContextDim < 1 {
		return p, fmt.Errorf("unet options %+v are inconsistent", *o)
	}
	mc := o.ModelChannels
	p.input = append(p.input, []unetLayerPlan{{kindConvIn, o.InChannels, mc}})
	chans, ch := []int{mc}, mc
	for lvl, m := range o.ChannelMult {
		for range o.ResBlocks {
			seq := []unetLayerPlan{{kindRes, ch, m * mc}}
			ch = m * mc
			if o.Attention[lvl] {
				seq = append(seq, unetLayerPlan{kindAttn, ch, ch})
			}
			p.input = append(p.input, seq)
			chans = append(chans, ch)
		}
		if lvl != len(o.ChannelMult)-1 {
			p.input = append(p.input, []unetLayerPlan{{kindDown, ch, ch}})
			chans = append(chans, ch)
		}
	}
	p.middle = []unetLayerPlan{{kindRes, ch, ch}, {kindAttn, ch, ch}, {kindRes, ch, ch}}
	for lvl := len(o.ChannelMult) - 1; lvl >= 0; lvl-- {
		m := o.ChannelMult[lvl]
		for i := range o.ResBlocks + 1 {
			ich := chans[len(chans)-1]
			chans = chans[:len(chans)-1]
			seq := []unetLayerPlan{{kindRes, ch + ich, mc * m}}
			ch = mc * m
			if o.Attention[lvl] {
				seq = append(seq, unetLayerPlan{kindAttn, ch, ch})
			}
			if lvl > 0 && i == o.ResBlocks {
				seq = append(seq, unetLayerPlan{kindUp, ch, ch})
			}
			p.output = append(p.output, seq)
		}
	}
	for _, c := range []int{mc * o.ChannelMult[len(o.ChannelMult)-1]} {
		if c%o.Heads != 0 {
			return p, fmt.Errorf("unet: %d channels do not split into %d heads", c, o.Heads)
		}
	}
	return p, nil
}

func newSeqs(plans [][]unetLayerPlan) []*UNetSeq {
	out := make([]*UNetSeq, len(plans))
	for i, pl := range plans {
		out[i] = newSeq(pl)
	}
	return out
}

func newSeq(pl []unetLayerPlan) *UNetSeq {
	s := &UNetSeq{Layers: make([]*UNetLayer, len(pl))}
	for j, l := range pl {
		s.Layers[j] = &UNetLayer{kind: l.kind}
		if l.kind == kindAttn {
			s.Layers[j].SpatialTransformer = &SpatialTransformer{Blocks: make([]*TransformerBlock, 1)}
		}
	}
	return s
}

// NewUNet returns a UNet with every slot of the plan made, for ollama's
// loader to fill.
func NewUNet(o UNetOptions) (*UNet, error) {
	p, err := planUNet(&o)
	if err != nil {
		return nil, err
	}
	return &UNet{Input: newSeqs(p.input), Middle: newSeq(p.middle), Output: newSeqs(p.output), UNetOptions: o, plan: p}, nil
}

// TimestepEmbedding is openaimodel.py's timestep_embedding (repeat_only
// False, max_period 10000): [cos(t·f_j) | sin(t·f_j)] with
// f_j = exp(−ln(10000)·j/half), computed in float64 on the host. It returns
// [dim, len(ts)] values.
func TimestepEmbedding(ts []float64, dim int) []float32 {
	half := dim / 2
	out := make([]float32, dim*len(ts))
	for b, t := range ts {
		for j := range half {
			f := math.Exp(-math.Log(10000) * float64(j) / float64(half))
			out[b*dim+j] = float32(math.Cos(t * f))
			out[b*dim+half+j] = float32(math.Sin(t * f))
		}
	}
	return out
}

// Forward predicts the noise ε for latents x [W, H, 4, B] at timesteps ts
// (one per batch entry) given text context [Dc, Lc, B].
func (u *UNet) Forward(ctx ml.Context, x ml.Tensor, ts []float64, ctxt ml.Tensor) ml.Tensor {
	return u.ForwardIP(ctx, x, ts, ctxt, nil)
}

// ForwardIP is Forward with IP-Adapter's decoupled cross-attention in every
// attn2 when cond is set and its scale is not 0 (see IPCond); with a nil
// cond or scale 0 it builds exactly Forward's graph.
func (u *UNet) ForwardIP(ctx ml.Context, x ml.Tensor, ts []float64, ctxt ml.Tensor, cond *IPCond) ml.Tensor {
	o := &u.UNetOptions
	ipOf := u.ipLayers(cond)
	temb := ctx.Input().FromFloats(TimestepEmbedding(ts, o.ModelChannels), o.ModelChannels, len(ts))
	emb := u.TimeOut.Forward(ctx, u.TimeIn.Forward(ctx, temb).SILU(ctx))
	embSiLU := emb.SILU(ctx) // every ResBlock's emb_layers start with SiLU
	// upTo is the skip the next output block concatenates: an upsample
	// goes to its size (×2, or diffusers' forward_upsample_size when the
	// latent size is not a multiple of 2^(levels−1)).
	run := func(s *UNetSeq, h, upTo ml.Tensor) ml.Tensor {
		for _, l := range s.Layers {
			switch l.kind {
			case kindConvIn:
				h = l.ConvIn.Forward(ctx, h, 1, 1)
			case kindRes:
				h = l.ResBlock.Forward(ctx, h, embSiLU, o)
			case kindAttn:
				h = l.SpatialTransformer.forward(ctx, h, ctxt, o, ipOf[l.SpatialTransformer], cond)
			case kindDown:
				h = l.Op.Forward(ctx, h, 2, 1)
			case kindUp:
				w, hh := 2*h.Dim(0), 2*h.Dim(1)
				if upTo != nil {
					w, hh = upTo.Dim(0), upTo.Dim(1)
				}
				h = h.Interpolate(ctx, [4]int{w, hh, h.Dim(2), h.Dim(3)}, ml.SamplingModeNearest)
				h = l.UpConv.Forward(ctx, h, 1, 1)
			}
		}
		return h
	}
	var hs []ml.Tensor
	h := x
	for _, s := range u.Input {
		h = run(s, h, nil)
		hs = append(hs, h)
	}
	h = run(u.Middle, h, nil)
	for _, s := range u.Output {
		skip := hs[len(hs)-1]
		hs = hs[:len(hs)-1]
		var next ml.Tensor
		if len(hs) > 0 {
			next = hs[len(hs)-1]
		}
		h = run(s, h.Concat(ctx, skip, 2), next)
	}
	return u.OutConv.Forward(ctx, u.OutNorm.Forward(ctx, h, o.Groups, 1e-5).SILU(ctx), 1, 1)
}

// unetTensors lists the UNet's tensors (GGUF names under "unet.").
func unetTensors(o UNetOptions, prefix string) ([]bindings.TensorSpec, error) {
	p, err := planUNet(&o)
	if err != nil {
		return nil, err
	}
	var specs []bindings.TensorSpec
	add := func(name string, init bindings.Init, shape ...uint64) {
		specs = append(specs, bindings.TensorSpec{Name: prefix + name, Shape: shape, Init: init})
	}
	conv := func(name string, k, in, out int) {
		add(name+".weight", bindings.InitWeight, uint64(k), uint64(k), uint64(in), uint64(out))
		add(name+".bias", bindings.InitBias, uint64(out))
	}
	norm := func(name string, c int) {
		add(name+".weight", bindings.InitOnes, uint64(c))
		add(name+".bias", bindings.InitBias, uint64(c))
	}
	linear := func(name string, in, out int, bias bool) {
		add(name+".weight", bindings.InitWeight, uint64(in), uint64(out))
		if bias {
			add(name+".bias", bindings.InitBias, uint64(out))
		}
	}
	mc := o.ModelChannels
	ted := 4 * mc
	linear("time_embed.0", mc, ted, true)
	linear("time_embed.2", ted, ted, true)
	layer := func(name string, l unetLayerPlan) {
		switch l.kind {
		case kindConvIn:
			conv(name, 3, l.in, l.out)
		case kindRes:
			norm(name+".in_layers.0", l.in)
			conv(name+".in_layers.2", 3, l.in, l.out)
			linear(name+".emb_layers.1", ted, l.out, true)
			norm(name+".out_layers.0", l.out)
			conv(name+".out_layers.3", 3, l.out, l.out)
			if l.in != l.out {
				conv(name+".skip_connection", 1, l.in, l.out)
			}
		case kindAttn:
			c := l.out
			norm(name+".norm", c)
			conv(name+".proj_in", 1, c, c)
			tb := name + ".tb.0."
			linear(tb+"attn1.to_q", c, c, false)
			linear(tb+"attn1.to_k", c, c, false)
			linear(tb+"attn1.to_v", c, c, false)
			linear(tb+"attn1.to_out.0", c, c, true)
			linear(tb+"ff.net.0.proj", c, 8*c, true)
			linear(tb+"ff.net.2", 4*c, c, true)
			linear(tb+"attn2.to_q", c, c, false)
			linear(tb+"attn2.to_k", o.ContextDim, c, false)
			linear(tb+"attn2.to_v", o.ContextDim, c, false)
			linear(tb+"attn2.to_out.0", c, c, true)
			norm(tb+"norm1", c)
			norm(tb+"norm2", c)
			norm(tb+"norm3", c)
			conv(name+".proj_out", 1, c, c)
		case kindDown:
			conv(name+".op", 3, l.in, l.out)
		case kindUp:
			conv(name+".conv", 3, l.in, l.out)
		}
	}
	for i, seq := range p.input {
		for j, l := range seq {
			layer(fmt.Sprintf("input_blocks.%d.%d", i, j), l)
		}
	}
	for j, l := range p.middle {
		layer(fmt.Sprintf("middle_block.%d", j), l)
	}
	for i, seq := range p.output {
		for j, l := range seq {
			layer(fmt.Sprintf("output_blocks.%d.%d", i, j), l)
		}
	}
	norm("out.0", mc)
	conv("out.2", 3, mc, o.InChannels)
	return specs, nil
}
