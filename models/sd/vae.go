package sd

import (
	"fmt"
	"math"

	"github.com/ollama/ollama/ml"

	"github.com/multisc/multisc/bindings"
)

// VAEOptions is the autoencoder's configuration (metadata sd15.vae.*).
type VAEOptions struct {
	Channels    int   // 128
	ChannelMult []int // 1, 2, 4, 4
	ResBlocks   int   // 2 (the decoder has one more per level)
	ZChannels   int   // 4
	Groups      int   // 32
	Scale       float32
}

// VAEResBlock is model.py's ResnetBlock without time embedding:
// norm1, swish, conv1, norm2, swish, conv2; nin_shortcut (1×1) when the
// channel count changes.
type VAEResBlock struct {
	Norm1    *Norm `gguf:"norm1"`
	Conv1    *Conv `gguf:"conv1"`
	Norm2    *Norm `gguf:"norm2"`
	Conv2    *Conv `gguf:"conv2"`
	Shortcut *Conv `gguf:"nin_shortcut"`
}

// Forward: x [W, H, C, B].
func (r *VAEResBlock) Forward(ctx ml.Context, x ml.Tensor, g int) ml.Tensor {
	h := r.Conv1.Forward(ctx, r.Norm1.Forward(ctx, x, g, 1e-6).SILU(ctx), 1, 1)
	h = r.Conv2.Forward(ctx, r.Norm2.Forward(ctx, h, g, 1e-6).SILU(ctx), 1, 1)
	if r.Shortcut != nil {
		x = r.Shortcut.Forward(ctx, x, 1, 0)
	}
	return x.Add(ctx, h)
}

// VAEAttn is model.py's AttnBlock: single-head attention over the H·W
// positions with 1×1 conv q, k, v, proj_out and a residual.
type VAEAttn struct {
	Norm    *Norm `gguf:"norm"`
	Q       *Conv `gguf:"q"`
	K       *Conv `gguf:"k"`
	V       *Conv `gguf:"v"`
	ProjOut *Conv `gguf:"proj_out"`
}

// Forward: x [W, H, C, B].
func (a *VAEAttn) Forward(ctx ml.Context, x ml.Tensor, g int) ml.Tensor {
	w, h, c, b := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	y := a.Norm.Forward(ctx, x, g, 1e-6).Permute(ctx, 1, 2, 0, 3).Contiguous(ctx, c, w*h, b) // [C, L, B]
	q := a.Q.Linear1x1(ctx, y).Reshape(ctx, c, 1, w*h, b)
	k := a.K.Linear1x1(ctx, y).Reshape(ctx, c, 1, w*h, b)
	v := a.V.Linear1x1(ctx, y).Reshape(ctx, c, 1, w*h, b)
	o := bindings.Attention(ctx, q, k, v, nil, 1/math.Sqrt(float64(c)))
	o = a.ProjOut.Linear1x1(ctx, o.Reshape(ctx, c, w*h, b))
	o = o.Reshape(ctx, c, w, h, b).Permute(ctx, 2, 0, 1, 3).Contiguous(ctx)
	return x.Add(ctx, o)
}

// VAEMid is the middle: block_1, attn_1, block_2.
type VAEMid struct {
	Block1 *VAEResBlock `gguf:"block_1"`
	Attn   *VAEAttn     `gguf:"attn_1"`
	Block2 *VAEResBlock `gguf:"block_2"`
}

// Forward: x [W, H, C, B].
func (m *VAEMid) Forward(ctx ml.Context, x ml.Tensor, g int) ml.Tensor {
	return m.Block2.Forward(ctx, m.Attn.Forward(ctx, m.Block1.Forward(ctx, x, g), g), g)
}

// VAELevel is one resolution level: res blocks, then (encoder) a stride-2
// downsample after zero padding right and bottom, or (decoder) a nearest ×2
// upsample and conv.
type VAELevel struct {
	Blocks []*VAEResBlock `gguf:"block"`
	Down   *Conv          `gguf:"downsample.conv"`
	Up     *Conv          `gguf:"upsample.conv"`
}

// VAEEncoder is model.py's Encoder (double_z, no attention in the levels).
type VAEEncoder struct {
	ConvIn  *Conv       `gguf:"conv_in"`
	Levels  []*VAELevel `gguf:"down"`
	Mid     *VAEMid     `gguf:"mid"`
	NormOut *Norm       `gguf:"norm_out"`
	ConvOut *Conv       `gguf:"conv_out"`
}

// VAEDecoder is model.py's Decoder; Levels[i] is up[i], run from the last.
type VAEDecoder struct {
	ConvIn  *Conv       `gguf:"conv_in"`
	Mid     *VAEMid     `gguf:"mid"`
	Levels  []*VAELevel `gguf:"up"`
	NormOut *Norm       `gguf:"norm_out"`
	ConvOut *Conv       `gguf:"conv_out"`
}

// VAE is autoencoder.py's AutoencoderKL.
type VAE struct {
	Encoder       *VAEEncoder `gguf:"encoder"`
	Decoder       *VAEDecoder `gguf:"decoder"`
	QuantConv     *Conv       `gguf:"quant_conv"`
	PostQuantConv *Conv       `gguf:"post_quant_conv"`

	VAEOptions
}

// NewVAE makes the level and block slots.
func NewVAE(o VAEOptions) (*VAE, error) {
	if len(o.ChannelMult) == 0 || o.ResBlocks < 1 || o.Channels < 1 || o.ZChannels < 1 || o.Groups < 1 || o.Scale <= 0 {
		return nil, fmt.Errorf("vae options %+v are inconsistent", o)
	}
	v := &VAE{Encoder: &VAEEncoder{}, Decoder: &VAEDecoder{}, VAEOptions: o}
	for range o.ChannelMult {
		v.Encoder.Levels = append(v.Encoder.Levels, &VAELevel{Blocks: make([]*VAEResBlock, o.ResBlocks)})
		v.Decoder.Levels = append(v.Decoder.Levels, &VAELevel{Blocks: make([]*VAEResBlock, o.ResBlocks+1)})
	}
	return v, nil
}

// Encode maps images [W, H, 3, B] in [−1, 1] to the posterior's mean and
// log-variance [W/f, H/f, Z, B] each (before the latent scale).
func (v *VAE) Encode(ctx ml.Context, x ml.Tensor) (mean, logvar ml.Tensor) {
	g, e := v.Groups, v.Encoder
	h := e.ConvIn.Forward(ctx, x, 1, 1)
	for i, l := range e.Levels {
		for _, b := range l.Blocks {
			h = b.Forward(ctx, h, g)
		}
		if i != len(e.Levels)-1 {
			h = l.Down.Forward(ctx, h.Pad(ctx, 1, 1, 0, 0), 2, 0)
		}
	}
	h = e.Mid.Forward(ctx, h, g)
	h = e.ConvOut.Forward(ctx, e.NormOut.Forward(ctx, h, g, 1e-6).SILU(ctx), 1, 1)
	m := v.QuantConv.Forward(ctx, h, 1, 0)
	w, hh, z, b := m.Dim(0), m.Dim(1), m.Dim(2)/2, m.Dim(3)
	mean = m.View(ctx, 0, w, m.Stride(1), hh, m.Stride(2), z, m.Stride(3), b).Contiguous(ctx)
	logvar = m.View(ctx, z*m.Stride(2), w, m.Stride(1), hh, m.Stride(2), z, m.Stride(3), b).Contiguous(ctx)
	return mean, logvar
}

// Decode maps latents [w, h, Z, B] (already divided by the latent scale) to
// images [W, H, 3, B], nominally in [−1, 1].
func (v *VAE) Decode(ctx ml.Context, z ml.Tensor) ml.Tensor {
	g, d := v.Groups, v.Decoder
	h := d.ConvIn.Forward(ctx, v.PostQuantConv.Forward(ctx, z, 1, 0), 1, 1)
	h = d.Mid.Forward(ctx, h, g)
	for i := len(d.Levels) - 1; i >= 0; i-- {
		l := d.Levels[i]
		for _, b := range l.Blocks {
			h = b.Forward(ctx, h, g)
		}
		if i != 0 {
			h = l.Up.Forward(ctx, bindings.Upsample(ctx, h, 2), 1, 1)
		}
	}
	return d.ConvOut.Forward(ctx, d.NormOut.Forward(ctx, h, g, 1e-6).SILU(ctx), 1, 1)
}

// Factor is the spatial down-scaling of the latents (8 for SD 1.5).
func (o VAEOptions) Factor() int { return 1 << (len(o.ChannelMult) - 1) }

func vaeTensors(o VAEOptions, prefix string) []bindings.TensorSpec {
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
	res := func(name string, in, out int) {
		norm(name+".norm1", in)
		conv(name+".conv1", 3, in, out)
		norm(name+".norm2", out)
		conv(name+".conv2", 3, out, out)
		if in != out {
			conv(name+".nin_shortcut", 1, in, out)
		}
	}
	mid := func(name string, c int) {
		res(name+".block_1", c, c)
		norm(name+".attn_1.norm", c)
		for _, p := range []string{"q", "k", "v", "proj_out"} {
			conv(name+".attn_1."+p, 1, c, c)
		}
		res(name+".block_2", c, c)
	}
	ch, n := o.Channels, len(o.ChannelMult)
	conv("encoder.conv_in", 3, 3, ch)
	in := ch
	for i, m := range o.ChannelMult {
		for j := range o.ResBlocks {
			res(fmt.Sprintf("encoder.down.%d.block.%d", i, j), in, ch*m)
			in = ch * m
		}
		if i != n-1 {
			conv(fmt.Sprintf("encoder.down.%d.downsample.conv", i), 3, in, in)
		}
	}
	mid("encoder.mid", in)
	norm("encoder.norm_out", in)
	conv("encoder.conv_out", 3, in, 2*o.ZChannels)
	conv("quant_conv", 1, 2*o.ZChannels, 2*o.ZChannels)
	conv("post_quant_conv", 1, o.ZChannels, o.ZChannels)
	in = ch * o.ChannelMult[n-1]
	conv("decoder.conv_in", 3, o.ZChannels, in)
	mid("decoder.mid", in)
	for i := n - 1; i >= 0; i-- {
		for j := range o.ResBlocks + 1 {
			res(fmt.Sprintf("decoder.up.%d.block.%d", i, j), in, ch*o.ChannelMult[i])
			in = ch * o.ChannelMult[i]
		}
		if i != 0 {
			conv(fmt.Sprintf("decoder.up.%d.upsample.conv", i), 3, in, in)
		}
	}
	norm("decoder.norm_out", in)
	conv("decoder.conv_out", 3, in, 3)
	return specs
}
