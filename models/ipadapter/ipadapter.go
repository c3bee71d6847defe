// Package ipadapter ports IP-Adapter for SD 1.5 (Ye et al. 2023,
// tencent-ailab/IP-Adapter, release ip-adapter_sd15): an image prompt for
// models/sd through decoupled cross-attention,
//
//	Z = Attn(Q, K_t, V_t) + λ·Attn(Q, K_ip, V_ip)
//
// in every cross-attention (attn2) of the UNet (issue 12, eq. 12).
//
// # Pipeline
//
// The image (the receiver's noisy object slice) goes through CLIP's image
// preprocessing (Preprocess: shortest side to 224 with a bicubic
// (Catmull-Rom) resize, centre crop, CLIP mean/std) and the CLIP ViT-H/14
// image encoder of models/clip (general.architecture "clip", projector type
// "none": VisionModel.Pooled, CLIPVisionModelWithProjection's
// image_embeds, 1024 wide). ImageProj (ImageProjModel: Linear 1024 → 4·768,
// reshape to 4 tokens, LayerNorm) turns the embedding into 4 context
// tokens; each IP layer's to_k_ip/to_v_ip turn those into keys and values
// once per image (Adapter.Prompt), which the UNet's attn2 layers then use at
// every step (sd.IPCond, sd.IPInput). The unconditional branch of
// classifier-free guidance uses the projection of a zero image embedding,
// as the reference's IPAdapter.get_image_embeds does. λ = 0 skips the image
// branch (byte-identical to generating without the adapter).
//
// # Model file
//
// general.architecture "ipadapter"; metadata ipadapter.tokens (4),
// ipadapter.image_dim (1024), ipadapter.cross_dim (768) and
// ipadapter.widths (the attention width of each IP layer in order, int32
// array). Tensor names are the release's state-dict keys unchanged
// (ip-adapter_sd15.safetensors; the .bin nests the same keys in two dicts,
// which the checkpoint reader flattens to the same names):
//
//	state-dict key                    GGUF name                       Go field
//	image_proj.proj.{weight,bias}     image_proj.proj.*               Model.ImageProj.Proj
//	image_proj.norm.{weight,bias}     image_proj.norm.*               Model.ImageProj.Norm
//	ip_adapter.N.to_k_ip.weight       ip_adapter.N.to_k_ip.weight     Model.Layers[N].Key
//	ip_adapter.N.to_v_ip.weight       ip_adapter.N.to_v_ip.weight     Model.Layers[N].Value
//
// N is the index of the attention processor in diffusers'
// unet.attn_processors order; the release wraps all 32 processors of SD
// 1.5 (attn1 and attn2 of 16 transformer blocks) in one ModuleList, and
// only the attn2 ones (odd N) have weights: N = 1…11 the down blocks
// (ldm input_blocks 1, 2, 4, 5, 7, 8), 13…29 the up blocks (output_blocks
// 3…11), 31 the mid block. Layer (N−1)/2 therefore maps to the UNet's
// cross-attentions in sd.UNetOptions.CrossAttnWidths order.
//
// The image_proj tensors carry no block number, so ollama's loader keeps
// them on the CPU (they run once per image); the ip_adapter.N tensors follow
// the placement rule of bindings.LoaderSlot.
//
// ip-adapter-plus_sd15 (a Resampler over the encoder's penultimate hidden
// states, keys image_proj.latents, image_proj.proj_in.*, image_proj.layers.*)
// is recognized and refused with an error naming the variant; it is not
// ported.
//
// # Multi-text conditioning
//
// The captions t_1..t_n go to sd.Request.Prompts with TextMode "join" (one
// prompt, joined with ", ") or "chunks" (one 77-token encoding per caption,
// concatenated along the sequence axis); the IP tokens are added per eq. 12
// either way, since the image branch has its own keys and values.
package ipadapter

import (
	"errors"
	"fmt"

	"github.com/ollama/ollama/fs"
	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/nn"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/sd"
)

// Arch is the GGUF general.architecture of an IP-Adapter file.
const Arch = "ipadapter"

// Options is the adapter's configuration.
type Options struct {
	Tokens   int   // image tokens (4)
	ImageDim int   // image embedding width (1024)
	CrossDim int   // UNet context width (768)
	Widths   []int // attention width of each IP layer, in order
}

// ImageProj is ImageProjModel: Linear(image_dim → tokens·cross_dim),
// reshape to tokens, LayerNorm(cross_dim).
type ImageProj struct {
	Proj *nn.Linear    `gguf:"proj"`
	Norm *nn.LayerNorm `gguf:"norm"`
}

// Layer is one IP layer: to_k_ip, to_v_ip (Linear cross_dim → width, no
// bias).
type Layer struct {
	Key   *nn.Linear `gguf:"to_k_ip"`
	Value *nn.Linear `gguf:"to_v_ip"`
}

// Model is an IP-Adapter loaded by ollama's registry. Layers has 2·n
// entries; the odd ones hold the weights (see the package comment).
type Model struct {
	model.Base
	ImageProj *ImageProj `gguf:"image_proj"`
	Layers    []*Layer   `gguf:"ip_adapter"`
	Options
}

func init() {
	model.Register(Arch, New)
	bindings.RegisterArch(bindings.Arch{
		Name:    Arch,
		Short:   "IP-Adapter for SD 1.5 (image projection + to_k_ip/to_v_ip of every cross-attention)",
		Tensors: Tensors,
		Config:  Config,
		Convert: Convert,
		Inputs:  "ip-adapter_sd15.safetensors or ip-adapter_sd15.bin",
	})
}

// New builds the model struct from metadata.
func New(c fs.Config) (model.Model, error) {
	kv, ok := c.(fsggml.KV)
	if !ok {
		return nil, errors.New("ipadapter: metadata is not GGUF key-values")
	}
	o, err := ReadOptions(kv)
	if err != nil {
		return nil, err
	}
	return &Model{Layers: make([]*Layer, 2*len(o.Widths)), Options: o}, nil
}

// Forward satisfies ollama's model.Model; use Adapter.
func (m *Model) Forward(ml.Context, input.Batch) (ml.Tensor, error) {
	return nil, errors.New("ipadapter: use ipadapter.Adapter")
}

// Project is ImageProjModel on image embeddings [ImageDim, B]: tokens
// [CrossDim, Tokens, B].
func (m *Model) Project(ctx ml.Context, embeds ml.Tensor) ml.Tensor {
	b := embeds.Dim(1)
	x := m.ImageProj.Proj.Forward(ctx, embeds).Reshape(ctx, m.CrossDim, m.Tokens, b)
	return m.ImageProj.Norm.Forward(ctx, x, 1e-5)
}

// KV is layer i's (0-based, CrossAttnWidths order) keys and values of
// tokens [CrossDim, N, B]: [W, N, B] each.
func (m *Model) KV(ctx ml.Context, i int, tokens ml.Tensor) (ml.Tensor, ml.Tensor) {
	l := m.Layers[2*i+1]
	return l.Key.Forward(ctx, tokens), l.Value.Forward(ctx, tokens)
}

// KV is the metadata (keys without "ipadapter.") of a configuration.
func (o Options) KV() fsggml.KV {
	w := make([]int32, len(o.Widths))
	for i, x := range o.Widths {
		w[i] = int32(x)
	}
	return fsggml.KV{
		"tokens": uint32(o.Tokens), "image_dim": uint32(o.ImageDim), "cross_dim": uint32(o.CrossDim),
		"widths":  w,
		"variant": "ip-adapter_sd15",
	}
}

// ReadOptions reads the configuration from metadata (full key names, or
// unprefixed keys of a Config result).
func ReadOptions(kv fsggml.KV) (Options, error) {
	kv = withPrefix(kv)
	var o Options
	var missing []string
	u := func(key string) int {
		if _, ok := kv[Arch+"."+key]; !ok {
			missing = append(missing, Arch+"."+key)
		}
		return int(kv.Uint(key))
	}
	o.Tokens, o.ImageDim, o.CrossDim = u("tokens"), u("image_dim"), u("cross_dim")
	var raw []int32
	switch v := kv[Arch+".widths"].(type) {
	case []int32:
		raw = v
	case nil:
		missing = append(missing, Arch+".widths")
	default:
		raw = kv.Ints("widths")
	}
	if len(missing) > 0 {
		return o, fmt.Errorf("metadata %v missing", missing)
	}
	for _, w := range raw {
		o.Widths = append(o.Widths, int(w))
	}
	if o.Tokens < 1 || o.ImageDim < 1 || o.CrossDim < 1 || len(o.Widths) == 0 {
		return o, fmt.Errorf("ipadapter options %+v are inconsistent", o)
	}
	for _, w := range o.Widths {
		if w < 1 {
			return o, fmt.Errorf("ipadapter layer width %d is not positive", w)
		}
	}
	return o, nil
}

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

// SD15Options is ip-adapter_sd15's configuration for SD 1.5.
func SD15Options() Options {
	w, _ := sd.FullOptions.UNet.CrossAttnWidths()
	return Options{Tokens: 4, ImageDim: 1024, CrossDim: 768, Widths: w}
}

// TinyOptions matches `synth --arch sd15 --size tiny` and the tiny image
// encoder of models/clip/testdata/cliph_tower (projection_dim 24).
func TinyOptions() Options {
	w, _ := sd.TinyOptions.UNet.CrossAttnWidths()
	return Options{Tokens: 4, ImageDim: 24, CrossDim: sd.TinyOptions.UNet.ContextDim, Widths: w}
}

// Config is the metadata of a tiny or full-size adapter.
func Config(size string) (fsggml.KV, error) {
	switch size {
	case "full":
		return SD15Options().KV(), nil
	case "tiny":
		return TinyOptions().KV(), nil
	}
	return nil, fmt.Errorf("unknown size %q (tiny or full)", size)
}

// Tensors lists every tensor of an adapter with this metadata.
func Tensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	o, err := ReadOptions(kv)
	if err != nil {
		return nil, err
	}
	u := func(v ...int) []uint64 {
		s := make([]uint64, len(v))
		for i, x := range v {
			s[i] = uint64(x)
		}
		return s
	}
	specs := []bindings.TensorSpec{
		{Name: "image_proj.proj.weight", Shape: u(o.ImageDim, o.Tokens*o.CrossDim), Init: bindings.InitWeight},
		{Name: "image_proj.proj.bias", Shape: u(o.Tokens * o.CrossDim), Init: bindings.InitBias},
		{Name: "image_proj.norm.weight", Shape: u(o.CrossDim), Init: bindings.InitOnes},
		{Name: "image_proj.norm.bias", Shape: u(o.CrossDim), Init: bindings.InitBias},
	}
	for i, w := range o.Widths {
		for _, kv := range []string{"to_k_ip", "to_v_ip"} {
			specs = append(specs, bindings.TensorSpec{Name: fmt.Sprintf("ip_adapter.%d.%s.weight", 2*i+1, kv), Shape: u(o.CrossDim, w), Init: bindings.InitWeight})
		}
	}
	return specs, nil
}

// WriteSynth writes an adapter of the given options with seeded random
// weights (what `multisc synth` does for the named sizes): a tiny adapter
// with another image width, say, to test the width checks.
func WriteSynth(path string, o Options, seed uint64, t fsggml.TensorType) error {
	kv := withPrefix(o.KV())
	specs, err := Tensors(kv)
	if err != nil {
		return err
	}
	return bindings.WriteFile(path, kv, bindings.SynthTensors(specs, seed, t))
}
