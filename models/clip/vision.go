package clip

import (
	"fmt"
	"math"
	"slices"

	"github.com/ollama/ollama/fs"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/nn"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
)

// VisionArch is llama.cpp's mmproj architecture name, registered by this
// package for the vision tower + projector.
const VisionArch = "clip"

// VisionProjectorTypes are the clip.projector_type values this port runs:
// LLaVA's "mlp", and "none" for a bare image encoder with CLIP's pooled
// output and visual projection (the IP-Adapter image encoder; this
// project's own type, unknown to llama.cpp).
var VisionProjectorTypes = []string{"mlp", VisionProjectorNone}

// VisionProjectorNone is the projector type of a bare image encoder.
const VisionProjectorNone = "none"

// VisionPatchEmbd is the patch convolution: weight [P, P, 3, D], bias [D]
// (SigLIP only).
type VisionPatchEmbd struct {
	Weight ml.Tensor `gguf:"weight"`
	Bias   ml.Tensor `gguf:"bias"`
}

// VisionAttention is multi-head self-attention with q/k/v/out biases.
type VisionAttention struct {
	Query  *nn.Linear `gguf:"attn_q"`
	Key    *nn.Linear `gguf:"attn_k"`
	Value  *nn.Linear `gguf:"attn_v"`
	Output *nn.Linear `gguf:"attn_out"`
}

// Forward: x [D, T, B] -> [D, T, B].
func (a *VisionAttention) Forward(ctx ml.Context, x ml.Tensor, o *VisionOptions) ml.Tensor {
	d, t, b := x.Dim(0), x.Dim(1), x.Dim(2)
	hd := d / o.Heads
	q := a.Query.Forward(ctx, x).Reshape(ctx, hd, o.Heads, t, b)
	k := a.Key.Forward(ctx, x).Reshape(ctx, hd, o.Heads, t, b)
	v := a.Value.Forward(ctx, x).Reshape(ctx, hd, o.Heads, t, b)
	att := nn.Attention(ctx, q, k, v, 1/math.Sqrt(float64(hd)), nil) // [hd, H, T, B]
	return a.Output.Forward(ctx, att.Reshape(ctx, d, t, b))
}

// VisionMLP is fc1 → activation → fc2 (llama.cpp: ffn_up, ffn_down).
type VisionMLP struct {
	Up   *nn.Linear `gguf:"ffn_up"`
	Down *nn.Linear `gguf:"ffn_down"`
}

// Forward: x [D, T, B] -> [D, T, B].
func (m *VisionMLP) Forward(ctx ml.Context, x ml.Tensor, o *VisionOptions) ml.Tensor {
	up, down := m.Up, m.Down
	if up.Weight.Dim(0) != x.Dim(0) {
		// An old file with ffn_up and ffn_down swapped (llama.cpp detects
		// it the same way: by the input width of the "up" weight).
		up, down = down, up
	}
	return down.Forward(ctx, visionActivation(ctx, up.Forward(ctx, x), o.Act))
}

// VisionLayer is one pre-norm encoder block.
type VisionLayer struct {
	LN1 *nn.LayerNorm `gguf:"ln1"`
	*VisionAttention
	LN2 *nn.LayerNorm `gguf:"ln2"`
	MLP *VisionMLP
}

// Forward: x [D, T, B] -> [D, T, B].
func (l *VisionLayer) Forward(ctx ml.Context, x ml.Tensor, o *VisionOptions) ml.Tensor {
	h := l.VisionAttention.Forward(ctx, l.LN1.Forward(ctx, x, o.Eps), o).Add(ctx, x)
	return l.MLP.Forward(ctx, l.LN2.Forward(ctx, h, o.Eps), o).Add(ctx, h)
}

// VisionTower is the vision transformer (tensors "v.*").
type VisionTower struct {
	PatchEmbd *VisionPatchEmbd `gguf:"patch_embd"`
	ClassEmbd ml.Tensor        `gguf:"class_embd"`
	PosEmbd   *nn.Embedding    `gguf:"position_embd"`
	PreLN     *nn.LayerNorm    `gguf:"pre_ln"`
	Layers    []VisionLayer    `gguf:"blk"`
	PostLN    *nn.LayerNorm    `gguf:"post_ln"`
	Proj      ml.Tensor        `gguf:"proj.weight"` // CLIP's visual_projection [D, P] (encoders only)
}

// VisionProjector is LLaVA's "mlp" projector (tensors "mm.*"): mm.0, GELU,
// mm.2 (mm.2 absent: a single linear layer followed by GELU, as llama.cpp).
type VisionProjector struct {
	MM0 *nn.Linear `gguf:"0"`
	MM2 *nn.Linear `gguf:"2"`
}

// Forward: x [D, N, B] -> [E, N, B].
func (p *VisionProjector) Forward(ctx ml.Context, x ml.Tensor) ml.Tensor {
	x = p.MM0.Forward(ctx, x).GELU_ERF(ctx)
	if p.MM2 != nil {
		x = p.MM2.Forward(ctx, x)
	}
	return x
}

// Activation names of the encoder MLP.
const (
	VisionQuickGELU = "quick_gelu" // CLIP: x·σ(1.702x)
	VisionGELUTanh  = "gelu_tanh"  // SigLIP: gelu_pytorch_tanh
	VisionGELUErf   = "gelu"       // OpenCLIP ViT-H/14: exact GELU
)

// VisionOptions are the tower's hyper-parameters, from clip.* metadata.
type VisionOptions struct {
	Hidden, Heads, Layers int
	ImageSize, PatchSize  int
	Eps                   float32
	Act                   string
	FeatureLayer          int // blocks run before the features are taken
	Mean, Std             [3]float32
	ProjectorType         string
}

// Patches is the number of image tokens per image.
func (o *VisionOptions) Patches() int {
	return (o.ImageSize / o.PatchSize) * (o.ImageSize / o.PatchSize)
}

// VisionModel is a llama.cpp mmproj file: vision tower + projector.
type VisionModel struct {
	model.Base
	Tower     *VisionTower     `gguf:"v"`
	Projector *VisionProjector `gguf:"mm"`
	VisionOptions
}

func visionActivation(ctx ml.Context, x ml.Tensor, act string) ml.Tensor {
	switch act {
	case VisionGELUErf:
		return x.GELU_ERF(ctx)
	case VisionGELUTanh:
		// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), exact in f32.
		x3 := x.Mul(ctx, x).Mul(ctx, x)
		t := x.Add(ctx, x3.Scale(ctx, 0.044715)).Scale(ctx, math.Sqrt(2/math.Pi)).Tanh(ctx)
		return x.Mul(ctx, t).Add(ctx, x).Scale(ctx, 0.5)
	default:
		return x.Mul(ctx, x.Scale(ctx, 1.702).Sigmoid(ctx))
	}
}

// embed is the tower's input sequence [D, T, B] (patch embeddings, class
// token first when present, positions, pre-LN): HF hidden_states[0].
func (m *VisionModel) embed(ctx ml.Context, pixels ml.Tensor) ml.Tensor {
	o, t := &m.VisionOptions, m.Tower
	b := pixels.Dim(3)
	np := m.Patches()
	x := t.PatchEmbd.Weight.Conv2D(ctx, pixels, o.PatchSize, o.PatchSize, 0, 0, 1, 1) // [G, G, D, B]
	x = x.Reshape(ctx, np, o.Hidden, b).Permute(ctx, 1, 0, 2, 3).Contiguous(ctx)      // [D, np, B]
	if t.PatchEmbd.Bias != nil {
		x = x.Add(ctx, t.PatchEmbd.Bias)
	}
	n := np
	if t.ClassEmbd != nil {
		cls := t.ClassEmbd.Reshape(ctx, o.Hidden, 1, 1).Repeat(ctx, 2, b) // [D, 1, B]
		x = cls.Concat(ctx, x, 1)
		n++
	}
	// get_rows returns f32 whatever the table's storage type (f16, q8_0).
	x = x.Add(ctx, t.PosEmbd.Forward(ctx, ctx.Arange(0, float32(n), 1, ml.DTypeI32)))
	if t.PreLN != nil {
		x = t.PreLN.Forward(ctx, x, o.Eps)
	}
	return x
}

// HiddenStates is Hugging Face's hidden_states[k] on pixels [S, S, 3, B]: the
// output of the first k blocks, [D, T, B] (no post-LN).
func (m *VisionModel) HiddenStates(ctx ml.Context, pixels ml.Tensor, k int) ml.Tensor {
	x := m.embed(ctx, pixels)
	for i := range k {
		x = m.Tower.Layers[i].Forward(ctx, x, &m.VisionOptions)
	}
	return x
}

// Features runs the tower on pixels [S, S, 3, B] (normalized, ggml order)
// and returns the selected layer's hidden states [D, T, B] (T = patches,
// plus the class token first when the model has one), post-LN applied
// when the file has one (llama.cpp's rule).
func (m *VisionModel) Features(ctx ml.Context, pixels ml.Tensor) ml.Tensor {
	x := m.HiddenStates(ctx, pixels, m.FeatureLayer)
	if m.Tower.PostLN != nil {
		x = m.Tower.PostLN.Forward(ctx, x, m.Eps)
	}
	return x
}

// Pooled is CLIPVisionModelWithProjection's image_embeds [P, B]: all
// blocks, the class token, post-LN, visual projection.
func (m *VisionModel) Pooled(ctx ml.Context, pixels ml.Tensor) ml.Tensor {
	x := m.HiddenStates(ctx, pixels, len(m.Tower.Layers))
	x = x.View(ctx, 0, x.Dim(0), x.Stride(2), x.Dim(2)).Contiguous(ctx) // class rows [D, B]
	x = m.Tower.PostLN.Forward(ctx, x, m.Eps)
	return m.Tower.Proj.Mulmat(ctx, x)
}

// Encode runs tower and projector on pixels [S, S, 3, B] and returns the
// image tokens for the language model: [E, Patches(), B].
func (m *VisionModel) Encode(ctx ml.Context, pixels ml.Tensor) ml.Tensor {
	x := m.Features(ctx, pixels)
	if m.Tower.ClassEmbd != nil {
		x = x.View(ctx, x.Stride(1), x.Dim(0), x.Stride(1), x.Dim(1)-1, x.Stride(2), x.Dim(2)).Contiguous(ctx)
	}
	return m.Projector.Forward(ctx, x)
}

// EmbeddingLength is the width of the projected image tokens (the language
// model's hidden size); 0 for a bare encoder.
func (m *VisionModel) EmbeddingLength() int {
	if m.Projector == nil || m.Projector.MM0 == nil {
		return 0
	}
	if m.Projector.MM2 != nil {
		return m.Projector.MM2.Weight.Dim(1)
	}
	return m.Projector.MM0.Weight.Dim(1)
}

// Forward satisfies model.Model; use Encode.
func (m *VisionModel) Forward(ml.Context, input.Batch) (ml.Tensor, error) {
	return nil, fmt.Errorf("clip: use Encode(ctx, pixels)")
}

// NewVision reads the options from clip.* metadata.
func NewVision(c fs.Config) (model.Model, error) {
	o, err := visionOptions(c)
	if err != nil {
		return nil, err
	}
	return &VisionModel{Tower: &VisionTower{Layers: make([]VisionLayer, o.Layers)}, VisionOptions: o}, nil
}

func visionOptions(c fs.Config) (VisionOptions, error) {
	o := VisionOptions{
		Hidden:        int(c.Uint("vision.embedding_length")),
		Heads:         int(c.Uint("vision.attention.head_count")),
		Layers:        int(c.Uint("vision.block_count")),
		ImageSize:     int(c.Uint("vision.image_size")),
		PatchSize:     int(c.Uint("vision.patch_size")),
		Eps:           c.Float("vision.attention.layer_norm_epsilon", 1e-5),
		Act:           VisionQuickGELU,
		ProjectorType: c.String("projector_type", "mlp"),
	}
	if c.Bool("use_gelu") {
		o.Act = VisionGELUTanh
	}
	if c.String(VisionActKey) == "gelu" {
		o.Act = VisionGELUErf
	}
	if c.Bool("use_silu") {
		return o, fmt.Errorf("clip.use_silu is not supported (only QuickGELU and tanh GELU towers)")
	}
	if !slices.Contains(VisionProjectorTypes, o.ProjectorType) {
		return o, fmt.Errorf("clip.projector_type %q is not supported (supported: %v)", o.ProjectorType, VisionProjectorTypes)
	}
	if o.Hidden <= 0 || o.Heads <= 0 || o.Hidden%o.Heads != 0 || o.Layers <= 0 || o.PatchSize <= 0 || o.ImageSize%max(o.PatchSize, 1) != 0 {
		return o, fmt.Errorf("clip.vision metadata is inconsistent: embedding_length %d, head_count %d, block_count %d, image_size %d, patch_size %d",
			o.Hidden, o.Heads, o.Layers, o.ImageSize, o.PatchSize)
	}
	o.FeatureLayer = o.Layers - 1
	if fl := c.Ints("vision.feature_layer"); len(fl) > 0 {
		if len(fl) > 1 {
			return o, fmt.Errorf("clip.vision.feature_layer %v: stacked feature layers are not supported", fl)
		}
		if fl[0] < 0 || int(fl[0]) > o.Layers {
			return o, fmt.Errorf("clip.vision.feature_layer %d is outside 0..%d", fl[0], o.Layers)
		}
		o.FeatureLayer = int(fl[0])
	}
	mean, std := c.Floats("vision.image_mean"), c.Floats("vision.image_std")
	if len(mean) != 3 || len(std) != 3 {
		return o, fmt.Errorf("clip.vision.image_mean and image_std need 3 values each")
	}
	copy(o.Mean[:], mean)
	copy(o.Std[:], std)
	return o, nil
}

func init() {
	model.Register(VisionArch, NewVision)
	bindings.RegisterArch(bindings.Arch{
		Name:    VisionArch,
		Short:   "CLIP/SigLIP vision: llama.cpp mmproj (tower + LLaVA mlp projector) or image encoder (sizes vit-h, vit-l, tiny-encoder, tiny-embedder)",
		Tensors: VisionTensors,
		Config:  VisionConfig,
		Convert: VisionConvert,
		Inputs:  "LLaVA checkpoint folder (config.json, mm_projector weights) and the vision tower's folder (config.json, weights); or, for an image encoder, one CLIPVisionModelWithProjection/CLIPModel folder (config.json, model.safetensors)",
	})
}
