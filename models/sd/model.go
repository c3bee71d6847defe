// Package sd ports Stable Diffusion 1.5 (text-to-image and image-to-image):
// the CLIP ViT-L/14 text encoder (models/clip, text half), the UNet of
// CompVis ldm `openaimodel.py`/`attention.py` and the KL autoencoder of
// `ldm/modules/diffusionmodules/model.py`, with its samplers (sampler.go)
// and a Generator (generate.go) that keeps the model loaded across calls.
//
// # Model file
//
// One GGUF file, general.architecture "sd15", holds the three networks, the
// CLIP tokenizer (sd15.text.tokens, sd15.text.merges) and the configuration
// (sd15.text.*, sd15.unet.*, sd15.vae.*). Tensor names are the single-file
// checkpoint's keys after one mechanical rename:
//
//	checkpoint key prefix                        GGUF prefix   Go field
//	cond_stage_model.transformer.text_model.     0.te.         Model.Text (clip.TextModel)
//	model.diffusion_model.                       1.unet.       Model.UNet
//	first_stage_model.                           2.vae.        Model.VAE
//	... .transformer_blocks. ...                 ... .tb. ...  SpatialTransformer.Blocks
//
// Why: the pinned ggml stores tensor names in 64 bytes (GGML_MAX_NAME) and
// SD's longest keys have 84 characters (stable-diffusion.cpp builds its ggml
// with 128), so the prefixes are shortened; and ollama's loader places a
// tensor by the first number in its name, leaving names without one (e.g.
// first_stage_model.decoder.conv_in.weight) on the CPU, so each network's
// prefix carries its index: 0, 1, 2 are the loader's "layers", all of which
// bindings.Open puts on the chosen GPU (bindings.LoaderSlot states the
// rule; TestPlacement checks every name).
//
// Everything after the prefix is unchanged (GGUFName, CheckpointName), e.g.
// model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight
// is 1.unet.input_blocks.1.1.tb.0.attn2.to_k.weight, UNet.Input[1].Layers[1]
// .SpatialTransformer.Blocks[0].Attn2.Key. Within each network:
//
//	time_embed.{0,2}                       UNet.TimeIn, TimeOut
//	input_blocks.0.0                       conv_in (UNetLayer.ConvIn)
//	{input,output}_blocks.N.M, middle_block.M
//	                                       UNetLayer: ResBlock (in_layers.{0,2},
//	                                       emb_layers.1, out_layers.{0,3},
//	                                       skip_connection), SpatialTransformer
//	                                       (norm, proj_in, tb.0.*, proj_out),
//	                                       op (downsample), conv (upsample)
//	out.{0,2}                              UNet.OutNorm, OutConv
//	{encoder,decoder}.*, {post_,}quant_conv   VAE (vae.go)
//	embeddings.*, encoder.layers.N.*, final_layer_norm.*
//	                                       clip.TextModel (models/clip/text.go)
//
// Conversion (convert.go) reads SD 1.5 single-file checkpoints
// (.safetensors, .ckpt) plus the CLIP tokenizer's vocab.json and merges.txt,
// which single-file checkpoints do not carry.
//
// # Image prompts (IP-Adapter)
//
// UNet.ForwardIP, UNetEpsIP, SampleIP and Request.IP add IP-Adapter's
// decoupled cross-attention to every attn2 (ip.go: IPCond, IPInput,
// CrossAttnWidths); models/ipadapter loads the adapter and computes the
// image keys and values. Request.Prompts and TextMode give several captions
// joined or as concatenated 77-token chunks (generate_ip.go).
//
// # Noise
//
// Every random draw (initial latents, Euler-ancestral noise, the VAE
// posterior sample of img2img) comes from Noise: Go's math/rand/v2 PCG
// generator seeded with (seed, stream) and its NormFloat64, so a seed gives
// the same latents, and on the CPU the same PNG bytes, on every machine. It
// is not torch's generator: a seed does not reproduce a diffusers image.
package sd

import (
	"errors"
	"fmt"

	"github.com/ollama/ollama/fs"
	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/clip"
)

// Arch is the GGUF general.architecture of this port.
const Arch = "sd15"

// LatentScale is SD 1.5's VAE scale factor (the latents the UNet sees are
// the posterior sample times this).
const LatentScale = 0.18215

// TextOptions is the text side of the configuration.
type TextOptions struct {
	Layers, Width, Heads, FF, Vocab, Positions int
	QuickGELU                                  bool
}

// Options is the whole configuration, read from metadata.
type Options struct {
	Text TextOptions
	UNet UNetOptions
	VAE  VAEOptions
}

// Model is SD 1.5 loaded by ollama's registry.
type Model struct {
	model.Base
	Text *clip.TextModel `gguf:"0.te"`
	UNet *UNet           `gguf:"1.unet"`
	VAE  *VAE            `gguf:"2.vae"`

	Tokenizer *clip.Tokenizer
	Options
}

func init() {
	model.Register(Arch, New)
	bindings.RegisterArch(bindings.Arch{
		Name:    Arch,
		Short:   "Stable Diffusion 1.5: CLIP text encoder, UNet, VAE (text-to-image, img2img)",
		Tensors: Tensors,
		Config:  Config,
		Convert: Convert,
		Inputs:  "SD 1.5 single-file checkpoint (.safetensors or .ckpt), vocab.json and merges.txt of its CLIP tokenizer",
	})
}

// New builds the model struct from metadata; ollama's model.New fills the
// tensors.
func New(c fs.Config) (model.Model, error) {
	kv, ok := c.(fsggml.KV)
	if !ok {
		return nil, errors.New("sd15: metadata is not GGUF key-values")
	}
	o, err := ReadOptions(kv)
	if err != nil {
		return nil, err
	}
	tok, err := clip.NewTokenizer(c.Strings("text.tokens"), c.Strings("text.merges"))
	if err != nil {
		return nil, fmt.Errorf("sd15: %w", err)
	}
	unet, err := NewUNet(o.UNet)
	if err != nil {
		return nil, err
	}
	vae, err := NewVAE(o.VAE)
	if err != nil {
		return nil, err
	}
	text := clip.NewTextModel(o.Text.Layers, clip.TextOptions{Heads: o.Text.Heads, Eps: 1e-5, QuickGELU: o.Text.QuickGELU})
	return &Model{Text: text, UNet: unet, VAE: vae, Tokenizer: tok, Options: o}, nil
}

// Forward satisfies ollama's model.Model; use a Generator.
func (m *Model) Forward(ml.Context, input.Batch) (ml.Tensor, error) {
	return nil, errors.New("sd15: use sd.Generator")
}

// FullOptions is SD 1.5's published configuration.
var FullOptions = Options{
	Text: TextOptions{Layers: 12, Width: 768, Heads: 12, FF: 3072, Vocab: 49408, Positions: 77, QuickGELU: true},
	UNet: UNetOptions{ModelChannels: 320, ChannelMult: []int{1, 2, 4, 4}, Attention: []bool{true, true, true, false},
		ResBlocks: 2, Heads: 8, ContextDim: 768, InChannels: 4, Groups: 32},
	VAE: VAEOptions{Channels: 128, ChannelMult: []int{1, 2, 4, 4}, ResBlocks: 2, ZChannels: 4, Groups: 32, Scale: LatentScale},
}

// TinyOptions is the reduced configuration of `synth --size tiny` (tests,
// demo): SD 1.5's structure and head counts, narrow widths, 8 norm groups.
var TinyOptions = Options{
	Text: TextOptions{Layers: 2, Width: 24, Heads: 12, FF: 96, Vocab: 514, Positions: 77, QuickGELU: true},
	UNet: UNetOptions{ModelChannels: 8, ChannelMult: []int{1, 2, 2}, Attention: []bool{true, true, false},
		ResBlocks: 1, Heads: 8, ContextDim: 24, InChannels: 4, Groups: 8},
	VAE: VAEOptions{Channels: 8, ChannelMult: []int{1, 2, 2, 2}, ResBlocks: 1, ZChannels: 4, Groups: 8, Scale: LatentScale},
}

func ints32(v []int) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func bools32(v []bool) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		if x {
			out[i] = 1
		}
	}
	return out
}

// KV is the metadata (keys without the "sd15." prefix) of a configuration.
func (o Options) KV() fsggml.KV {
	return fsggml.KV{
		"text.layers": uint32(o.Text.Layers), "text.width": uint32(o.Text.Width), "text.heads": uint32(o.Text.Heads),
		"text.ff": uint32(o.Text.FF), "text.vocab": uint32(o.Text.Vocab), "text.positions": uint32(o.Text.Positions),
		"text.quick_gelu":   o.Text.QuickGELU,
		"unet.channels":     uint32(o.UNet.ModelChannels),
		"unet.channel_mult": ints32(o.UNet.ChannelMult),
		"unet.attention":    bools32(o.UNet.Attention),
		"unet.res_blocks":   uint32(o.UNet.ResBlocks),
		"unet.heads":        uint32(o.UNet.Heads),
		"unet.context_dim":  uint32(o.UNet.ContextDim),
		"unet.in_channels":  uint32(o.UNet.InChannels),
		"unet.groups":       uint32(o.UNet.Groups),
		"vae.channels":      uint32(o.VAE.Channels),
		"vae.channel_mult":  ints32(o.VAE.ChannelMult),
		"vae.res_blocks":    uint32(o.VAE.ResBlocks),
		"vae.z_channels":    uint32(o.VAE.ZChannels),
		"vae.groups":        uint32(o.VAE.Groups),
		"vae.scale":         o.VAE.Scale,
	}
}

// kvInts reads an int array written as []int32 (in memory) or decoded.
func kvInts(kv fsggml.KV, key string) ([]int, error) {
	full := Arch + "." + key
	var raw []int32
	switch v := kv[full].(type) {
	case []int32:
		raw = v
	case nil:
		return nil, fmt.Errorf("metadata %s is missing", full)
	default:
		raw = kv.Ints(key)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("metadata %s is not a non-empty int32 array", full)
	}
	out := make([]int, len(raw))
	for i, x := range raw {
		out[i] = int(x)
	}
	return out, nil
}

// ReadOptions reads the configuration from metadata (full key names, as in
// a file or after the engine adds the prefix).
func ReadOptions(kv fsggml.KV) (Options, error) {
	var o Options
	var missing []string
	u := func(key string) int {
		if _, ok := kv[Arch+"."+key]; !ok {
			missing = append(missing, Arch+"."+key)
		}
		return int(kv.Uint(key))
	}
	o.Text = TextOptions{Layers: u("text.layers"), Width: u("text.width"), Heads: u("text.heads"), FF: u("text.ff"),
		Vocab: u("text.vocab"), Positions: u("text.positions"), QuickGELU: kv.Bool("text.quick_gelu")}
	o.UNet = UNetOptions{ModelChannels: u("unet.channels"), ResBlocks: u("unet.res_blocks"), Heads: u("unet.heads"),
		ContextDim: u("unet.context_dim"), InChannels: u("unet.in_channels"), Groups: u("unet.groups")}
	o.VAE = VAEOptions{Channels: u("vae.channels"), ResBlocks: u("vae.res_blocks"), ZChannels: u("vae.z_channels"),
		Groups: u("vae.groups"), Scale: kv.Float("vae.scale")}
	if len(missing) > 0 {
		return o, fmt.Errorf("metadata %v missing", missing)
	}
	var err error
	if o.UNet.ChannelMult, err = kvInts(kv, "unet.channel_mult"); err != nil {
		return o, err
	}
	att, err := kvInts(kv, "unet.attention")
	if err != nil {
		return o, err
	}
	for _, a := range att {
		o.UNet.Attention = append(o.UNet.Attention, a != 0)
	}
	if o.VAE.ChannelMult, err = kvInts(kv, "vae.channel_mult"); err != nil {
		return o, err
	}
	if o.Text.Heads < 1 || o.Text.Width%o.Text.Heads != 0 || o.Text.Layers < 1 || o.Text.Positions < 2 {
		return o, fmt.Errorf("text options %+v are inconsistent", o.Text)
	}
	if o.UNet.ContextDim != o.Text.Width {
		return o, fmt.Errorf("unet context width %d differs from the text width %d", o.UNet.ContextDim, o.Text.Width)
	}
	if _, err := planUNet(&o.UNet); err != nil {
		return o, err
	}
	if _, err := NewVAE(o.VAE); err != nil {
		return o, err
	}
	return o, nil
}

// Config is the metadata of a tiny or full-size model, tokenizer included
// (a made-up vocabulary of CLIP's layout and size: clip.TokenizerSynthVocab).
func Config(size string) (fsggml.KV, error) {
	var o Options
	switch size {
	case "full":
		o = FullOptions
	case "tiny":
		o = TinyOptions
	default:
		return nil, fmt.Errorf("unknown size %q (tiny or full)", size)
	}
	kv := o.KV()
	tokens, merges := clip.TokenizerSynthVocab(o.Text.Vocab - 514)
	kv["text.tokens"], kv["text.merges"] = tokens, merges
	return kv, nil
}

// Tensors lists every tensor of a model with this metadata.
func Tensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	o, err := ReadOptions(withPrefix(kv))
	if err != nil {
		return nil, err
	}
	return tensorsFor(o)
}

// withPrefix gives unprefixed keys (a Config result) the "sd15." prefix.
func withPrefix(kv fsggml.KV) fsggml.KV {
	out := fsggml.KV{"general.architecture": Arch}
	for k, v := range kv {
		if len(k) > len(Arch) && k[:len(Arch)+1] == Arch+"." || k == "general.architecture" {
			out[k] = v
		} else if len(k) < 8 || k[:8] != "general." {
			out[Arch+"."+k] = v
		}
	}
	return out
}

func tensorsFor(o Options) ([]bindings.TensorSpec, error) {
	specs := textTensors(o.Text, "0.te.")
	u, err := unetTensors(o.UNet, "1.unet.")
	if err != nil {
		return nil, err
	}
	specs = append(specs, u...)
	return append(specs, vaeTensors(o.VAE, "2.vae.")...), nil
}

func textTensors(o TextOptions, prefix string) []bindings.TensorSpec {
	var specs []bindings.TensorSpec
	add := func(name string, init bindings.Init, shape ...int) {
		s := make([]uint64, len(shape))
		for i, d := range shape {
			s[i] = uint64(d)
		}
		specs = append(specs, bindings.TensorSpec{Name: prefix + name, Shape: s, Init: init})
	}
	d := o.Width
	add("embeddings.token_embedding.weight", bindings.InitBias, d, o.Vocab)
	add("embeddings.position_embedding.weight", bindings.InitBias, d, o.Positions)
	for i := range o.Layers {
		l := fmt.Sprintf("encoder.layers.%d.", i)
		for _, p := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
			add(l+"self_attn."+p+".weight", bindings.InitWeight, d, d)
			add(l+"self_attn."+p+".bias", bindings.InitBias, d)
		}
		for _, n := range []string{"layer_norm1", "layer_norm2"} {
			add(l+n+".weight", bindings.InitOnes, d)
			add(l+n+".bias", bindings.InitBias, d)
		}
		add(l+"mlp.fc1.weight", bindings.InitWeight, d, o.FF)
		add(l+"mlp.fc1.bias", bindings.InitBias, o.FF)
		add(l+"mlp.fc2.weight", bindings.InitWeight, o.FF, d)
		add(l+"mlp.fc2.bias", bindings.InitBias, d)
	}
	add("final_layer_norm.weight", bindings.InitOnes, d)
	add("final_layer_norm.bias", bindings.InitBias, d)
	return specs
}
