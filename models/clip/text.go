package clip

import (
	"math"

	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/nn"

	"github.com/multisc/multisc/bindings"
)

// The CLIP text encoder (Hugging Face transformers models/clip/modeling_clip.py,
// CLIPTextTransformer), as Stable Diffusion 1.5 uses it: token + position
// embeddings, pre-LN encoder layers with causal self-attention and a
// QuickGELU MLP, final_layer_norm.
//
// Tensor names under the text model's prefix (state-dict keys of
// CLIPTextModel's text_model, unchanged):
//
//	embeddings.token_embedding.weight        [D, V]     TextModel.Embeddings.Token
//	embeddings.position_embedding.weight     [D, P]     TextModel.Embeddings.Position
//	encoder.layers.N.layer_norm{1,2}.*       [D]        TextLayer.Norm1, Norm2
//	encoder.layers.N.self_attn.{q,k,v,out}_proj.*       TextAttention.Query, Key, Value, Out
//	encoder.layers.N.mlp.fc{1,2}.*                      TextMLP.FC1, FC2
//	final_layer_norm.*                       [D]        TextModel.FinalNorm

// TextOptions are the encoder's hyper-parameters (from GGUF metadata).
type TextOptions struct {
	Heads     int
	Eps       float32
	QuickGELU bool // CLIP ViT-L/14 (SD 1.5); false: exact GELU
}

// TextEmbeddings holds the token and position tables.
type TextEmbeddings struct {
	Token    *nn.Embedding `gguf:"token_embedding"`
	Position *nn.Embedding `gguf:"position_embedding"`
}

// TextAttention is CLIPAttention.
type TextAttention struct {
	Query *nn.Linear `gguf:"q_proj"`
	Key   *nn.Linear `gguf:"k_proj"`
	Value *nn.Linear `gguf:"v_proj"`
	Out   *nn.Linear `gguf:"out_proj"`
}

// TextMLP is CLIPMLP.
type TextMLP struct {
	FC1 *nn.Linear `gguf:"fc1"`
	FC2 *nn.Linear `gguf:"fc2"`
}

// TextLayer is CLIPEncoderLayer.
type TextLayer struct {
	SelfAttn *TextAttention `gguf:"self_attn"`
	Norm1    *nn.LayerNorm  `gguf:"layer_norm1"`
	MLP      *TextMLP       `gguf:"mlp"`
	Norm2    *nn.LayerNorm  `gguf:"layer_norm2"`
}

// TextEncoder is CLIPEncoder.
type TextEncoder struct {
	Layers []*TextLayer `gguf:"layers"`
}

// TextModel is CLIPTextTransformer. Make it with NewTextModel (the layer
// slots must exist before ollama's loader fills them).
type TextModel struct {
	Embeddings *TextEmbeddings `gguf:"embeddings"`
	Encoder    *TextEncoder    `gguf:"encoder"`
	FinalNorm  *nn.LayerNorm   `gguf:"final_layer_norm"`

	TextOptions
}

// NewTextModel returns a text model with n layer slots.
func NewTextModel(n int, o TextOptions) *TextModel {
	return &TextModel{Encoder: &TextEncoder{Layers: make([]*TextLayer, n)}, TextOptions: o}
}

// TextCausalMask is the [n, n] additive mask: −inf above the diagonal.
func TextCausalMask(ctx ml.Context, n int) ml.Tensor {
	m := make([]float32, n*n)
	for q := range n {
		for k := q + 1; k < n; k++ {
			m[q*n+k] = float32(math.Inf(-1))
		}
	}
	return ctx.Input().FromFloats(m, n, n)
}

// Forward encodes token ids [N, B] (int32) into hidden states [D, N, B].
// skip = 1 returns the last layer, skip = 2 the penultimate one (SD's "clip
// skip"); final_layer_norm is applied either way, as diffusers and
// stable-diffusion.cpp do.
func (m *TextModel) Forward(ctx ml.Context, ids ml.Tensor, skip int) ml.Tensor {
	n, b := ids.Dim(0), ids.Dim(1)
	x := m.Embeddings.Token.Forward(ctx, ids.Reshape(ctx, n*b)) // [D, N·B]
	x = x.Reshape(ctx, x.Dim(0), n, b)
	// Rows (get_rows) reads the table in its stored type (f16, q8_0) as f32.
	pos := make([]int32, n)
	for i := range pos {
		pos[i] = int32(i)
	}
	x = x.Add(ctx, m.Embeddings.Position.Forward(ctx, ctx.Input().FromInts(pos, n)))
	mask := TextCausalMask(ctx, n)
	layers := m.Encoder.Layers
	if skip > 1 {
		layers = layers[:max(len(layers)-(skip-1), 1)]
	}
	for _, l := range layers {
		x = l.Forward(ctx, x, mask, m.TextOptions)
	}
	return m.FinalNorm.Forward(ctx, x, m.Eps)
}

// Forward runs one pre-LN encoder layer on x [D, N, B].
func (l *TextLayer) Forward(ctx ml.Context, x, mask ml.Tensor, o TextOptions) ml.Tensor {
	h := l.SelfAttn.Forward(ctx, l.Norm1.Forward(ctx, x, o.Eps), mask, o)
	x = x.Add(ctx, h)
	h = l.MLP.FC1.Forward(ctx, l.Norm2.Forward(ctx, x, o.Eps))
	if o.QuickGELU {
		// x·σ(1.702x) in f32 (ggml's QuickGELU is an f16 table on CPU);
		// Sigmoid runs in place on the scaled copy, which nothing else reads.
		h = h.Mul(ctx, h.Scale(ctx, 1.702).Sigmoid(ctx))
	} else {
		h = h.GELU_ERF(ctx)
	}
	return x.Add(ctx, l.MLP.FC2.Forward(ctx, h))
}

// Forward is causal multi-head self-attention on x [D, N, B].
func (a *TextAttention) Forward(ctx ml.Context, x, mask ml.Tensor, o TextOptions) ml.Tensor {
	d, n, b := x.Dim(0), x.Dim(1), x.Dim(2)
	dh := d / o.Heads
	q := a.Query.Forward(ctx, x).Reshape(ctx, dh, o.Heads, n, b)
	k := a.Key.Forward(ctx, x).Reshape(ctx, dh, o.Heads, n, b)
	v := a.Value.Forward(ctx, x).Reshape(ctx, dh, o.Heads, n, b)
	out := bindings.Attention(ctx, q, k, v, mask, 1/math.Sqrt(float64(dh)))
	return a.Out.Forward(ctx, out.Reshape(ctx, d, n, b))
}
