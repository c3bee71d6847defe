// Package bart ports Hugging Face's BartForConditionalGeneration
// (transformers v4.26.1 models/bart/modeling_bart.py) with greedy and beam
// search (generation/utils.py, beam_search.py, logits_process.py): the
// receiver's spelling corrector of Multi-SC (Algorithm 1, eq. 6).
//
// The model: shared token embeddings (times sqrt(d_model) when
// scale_embedding), learned positions with HF's offset of 2,
// layernorm_embedding, post-LN encoder and decoder layers with exact (erf)
// GELU, decoder causal self-attention and cross-attention, LM head tied to
// the shared embedding plus final_logits_bias. Batches of texts of different
// lengths are right-padded and masked. Decoding is incremental: the
// decoder's self-attention keys and values live in a cache on the device
// (reordered between beams), the cross-attention keys and values are
// computed once per input and shared by its beams.
//
// # Tensors
//
// GGUF names are the Hugging Face state-dict keys unchanged, with three
// mechanical changes: the tied copies model.encoder.embed_tokens.weight,
// model.decoder.embed_tokens.weight and lm_head.weight are dropped (they
// must equal model.shared.weight), and final_logits_bias [1, V] is stored
// 1-D [V]. A BartModel checkpoint (keys without the "model." prefix, no
// LM head) converts too: its keys get the prefix and final_logits_bias is
// zeros, as BartForConditionalGeneration initializes it.
//
//	model.shared.weight                          -> Model.Shared.Weight          [D, V]
//	model.{encoder,decoder}.embed_positions.weight -> Stack.Positions.Weight     [D, P+2]
//	model.{encoder,decoder}.layernorm_embedding.*  -> Stack.EmbedNorm
//	model.encoder.layers.N.self_attn.{q,k,v,out}_proj.* -> Encoder.Layers[N].SelfAttn.{Query,Key,Value,Output}
//	model.encoder.layers.N.self_attn_layer_norm.*  -> Encoder.Layers[N].SelfAttnNorm
//	model.encoder.layers.N.{fc1,fc2}.*             -> Encoder.Layers[N].FC1, FC2
//	model.encoder.layers.N.final_layer_norm.*      -> Encoder.Layers[N].FinalNorm
//	model.decoder.layers.N.encoder_attn.*          -> Decoder.Layers[N].CrossAttn
//	model.decoder.layers.N.encoder_attn_layer_norm.* -> Decoder.Layers[N].CrossAttnNorm
//	(decoder self_attn, self_attn_layer_norm, fc1, fc2, final_layer_norm as in the encoder)
//	final_logits_bias                            -> Model.FinalLogitsBias        [V]
//
// # Metadata
//
// bart.{d_model, encoder_layers, decoder_layers, encoder_attention_heads,
// decoder_attention_heads, encoder_ffn_dim, decoder_ffn_dim,
// max_position_embeddings, vocab_size, scale_embedding,
// activation_function} from config.json; the generation defaults
// bart.{bos,eos,pad,decoder_start,forced_bos,forced_eos}_token_id (absent
// when the checkpoint has none), bart.{num_beams, max_length, min_length,
// no_repeat_ngram_size, length_penalty, early_stopping} from
// generation_config.json, else config.json, else Hugging Face's defaults.
// The GPT-2 byte-level BPE tokenizer is embedded as tokenizer.ggml.{model
// ("gpt2"), tokens, token_type, merges} from vocab.json and merges.txt;
// <s>, <pad>, </s>, <unk> and <mask> are control tokens.
package bart

import (
	"fmt"
	"math"

	"github.com/ollama/ollama/fs"
	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/nn"
	"github.com/ollama/ollama/model"
	"github.com/ollama/ollama/model/input"

	"github.com/multisc/multisc/bindings"
)

// Arch is the GGUF general.architecture of this port.
const Arch = "bart"

// lnEps is torch.nn.LayerNorm's default epsilon, which BART uses.
const lnEps = 1e-5

// posOffset is BartLearnedPositionalEmbedding's offset: position p reads
// row p+2 of embed_positions.
const posOffset = 2

// Attention is BartAttention: four projections, q scaled by head_dim^-0.5.
type Attention struct {
	Query  *nn.Linear `gguf:"q_proj"`
	Key    *nn.Linear `gguf:"k_proj"`
	Value  *nn.Linear `gguf:"v_proj"`
	Output *nn.Linear `gguf:"out_proj"`
}

// EncoderLayer is BartEncoderLayer (post-LN).
type EncoderLayer struct {
	SelfAttn     *Attention    `gguf:"self_attn"`
	SelfAttnNorm *nn.LayerNorm `gguf:"self_attn_layer_norm"`
	FC1          *nn.Linear    `gguf:"fc1"`
	FC2          *nn.Linear    `gguf:"fc2"`
	FinalNorm    *nn.LayerNorm `gguf:"final_layer_norm"`
}

// DecoderLayer is BartDecoderLayer (post-LN).
type DecoderLayer struct {
	SelfAttn      *Attention    `gguf:"self_attn"`
	SelfAttnNorm  *nn.LayerNorm `gguf:"self_attn_layer_norm"`
	CrossAttn     *Attention    `gguf:"encoder_attn"`
	CrossAttnNorm *nn.LayerNorm `gguf:"encoder_attn_layer_norm"`
	FC1           *nn.Linear    `gguf:"fc1"`
	FC2           *nn.Linear    `gguf:"fc2"`
	FinalNorm     *nn.LayerNorm `gguf:"final_layer_norm"`
}

// Encoder is BartEncoder (its embed_tokens is Model.Shared).
type Encoder struct {
	Positions *nn.Embedding   `gguf:"embed_positions"`
	EmbedNorm *nn.LayerNorm   `gguf:"layernorm_embedding"`
	Layers    []*EncoderLayer `gguf:"layers"`
}

// Decoder is BartDecoder (its embed_tokens is Model.Shared).
type Decoder struct {
	Positions *nn.Embedding   `gguf:"embed_positions"`
	EmbedNorm *nn.LayerNorm   `gguf:"layernorm_embedding"`
	Layers    []*DecoderLayer `gguf:"layers"`
}

// Params is the architecture part of the metadata.
type Params struct {
	DModel, EncLayers, DecLayers, EncHeads, DecHeads, EncFFN, DecFFN int
	MaxPositions, Vocab                                              int
	ScaleEmbedding                                                   bool
	Activation                                                       string
}

// Model is BartForConditionalGeneration.
type Model struct {
	model.Base
	Shared          *nn.Embedding `gguf:"model.shared"`
	Encoder         *Encoder      `gguf:"model.encoder"`
	Decoder         *Decoder      `gguf:"model.decoder"`
	FinalLogitsBias ml.Tensor     `gguf:"final_logits_bias"`

	Params
	Gen       GenerationConfig
	Tokenizer *Tokenizer
}

// noToken marks an absent token id in metadata reads.
const noToken = math.MaxUint32

func tokenID(c fs.Config, key string) int {
	v := c.Uint(key, noToken)
	if v == noToken {
		return -1
	}
	return int(v)
}

// New builds the model struct from GGUF metadata; ollama's model.New then
// fills the tensor fields.
func New(c fs.Config) (model.Model, error) {
	cfg := Params{
		DModel: int(c.Uint("d_model")), EncLayers: int(c.Uint("encoder_layers")),
		DecLayers: int(c.Uint("decoder_layers")), EncHeads: int(c.Uint("encoder_attention_heads")),
		DecHeads: int(c.Uint("decoder_attention_heads")), EncFFN: int(c.Uint("encoder_ffn_dim")),
		DecFFN: int(c.Uint("decoder_ffn_dim")), MaxPositions: int(c.Uint("max_position_embeddings")),
		Vocab: int(c.Uint("vocab_size")), ScaleEmbedding: c.Bool("scale_embedding"),
		Activation: c.String("activation_function", "gelu"),
	}
	if cfg.DModel == 0 || cfg.EncHeads == 0 || cfg.DecHeads == 0 || cfg.DModel%cfg.EncHeads != 0 || cfg.DModel%cfg.DecHeads != 0 {
		return nil, fmt.Errorf("bart: d_model %d does not divide into %d/%d heads", cfg.DModel, cfg.EncHeads, cfg.DecHeads)
	}
	if _, ok := activations[cfg.Activation]; !ok {
		return nil, fmt.Errorf("bart: activation_function %q is not supported (gelu, relu)", cfg.Activation)
	}
	gen := GenerationConfig{
		BOS: tokenID(c, "bos_token_id"), EOS: tokenID(c, "eos_token_id"), Pad: tokenID(c, "pad_token_id"),
		DecoderStart: tokenID(c, "decoder_start_token_id"),
		ForcedBOS:    tokenID(c, "forced_bos_token_id"), ForcedEOS: tokenID(c, "forced_eos_token_id"),
		NumBeams: int(c.Uint("num_beams", 1)), MaxLength: int(c.Uint("max_length", 20)),
		MinLength: int(c.Uint("min_length", 0)), NoRepeatNgram: int(c.Uint("no_repeat_ngram_size", 0)),
		LengthPenalty: float64(c.Float("length_penalty", 1)), EarlyStopping: c.Bool("early_stopping", false),
	}
	tok, err := NewTokenizer(c.String("tokenizer.ggml.model"), c.Strings("tokenizer.ggml.tokens"),
		c.Ints("tokenizer.ggml.token_type"), c.Strings("tokenizer.ggml.merges"), gen)
	if err != nil {
		return nil, err
	}
	if tok.Len() != cfg.Vocab {
		return nil, fmt.Errorf("bart: the tokenizer has %d tokens but vocab_size is %d", tok.Len(), cfg.Vocab)
	}
	return &Model{
		Encoder: &Encoder{Layers: make([]*EncoderLayer, cfg.EncLayers)},
		Decoder: &Decoder{Layers: make([]*DecoderLayer, cfg.DecLayers)},
		Params:  cfg, Gen: gen, Tokenizer: tok,
	}, nil
}

// activations are the config.json activation_function values supported.
var activations = map[string]func(ctx ml.Context, t ml.Tensor) ml.Tensor{
	"gelu": func(ctx ml.Context, t ml.Tensor) ml.Tensor { return t.GELU_ERF(ctx) },
	"relu": func(ctx ml.Context, t ml.Tensor) ml.Tensor { return t.RELU(ctx) },
}

func init() {
	model.Register(Arch, New)
	bindings.RegisterArch(bindings.Arch{
		Name:    Arch,
		Short:   "BART encoder-decoder (BartForConditionalGeneration), the spelling corrector",
		Tensors: Tensors,
		Config:  SynthConfig,
		Convert: Convert,
		Inputs:  "a Hugging Face BART folder (model.safetensors or pytorch_model.bin, config.json, vocab.json, merges.txt, optional generation_config.json), or those files",
	})
}

// Forward satisfies ollama's model.Model; BART takes texts, so use
// Corrector or Generate.
func (m *Model) Forward(ml.Context, input.Batch) (ml.Tensor, error) {
	return nil, fmt.Errorf("bart: use Generate or a Corrector")
}

func u(kv fsggml.KV, key string) uint64 { return uint64(kv.Uint(key)) }

// Tensors lists the tensors a BART file must hold, from its metadata.
func Tensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	d, v, p := u(kv, "d_model"), u(kv, "vocab_size"), u(kv, "max_position_embeddings")
	el, dl := u(kv, "encoder_layers"), u(kv, "decoder_layers")
	ef, df := u(kv, "encoder_ffn_dim"), u(kv, "decoder_ffn_dim")
	if d == 0 || v == 0 || p == 0 || el == 0 || dl == 0 || ef == 0 || df == 0 {
		return nil, fmt.Errorf("metadata %s.{d_model, vocab_size, max_position_embeddings, encoder_layers, decoder_layers, encoder_ffn_dim, decoder_ffn_dim} must all be set", Arch)
	}
	var specs []bindings.TensorSpec
	add := func(name string, init bindings.Init, shape ...uint64) {
		specs = append(specs, bindings.TensorSpec{Name: name, Shape: shape, Init: init})
	}
	lin := func(name string, in, out uint64) {
		add(name+".weight", bindings.InitWeight, in, out)
		add(name+".bias", bindings.InitBias, out)
	}
	norm := func(name string) {
		add(name+".weight", bindings.InitOnes, d)
		add(name+".bias", bindings.InitBias, d)
	}
	attn := func(name string) {
		for _, p := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
			lin(name+"."+p, d, d)
		}
	}
	add("model.shared.weight", bindings.InitWeight, d, v)
	add("final_logits_bias", bindings.InitBias, v)
	for _, stack := range []struct {
		name   string
		layers uint64
		ffn    uint64
	}{{"model.encoder", el, ef}, {"model.decoder", dl, df}} {
		add(stack.name+".embed_positions.weight", bindings.InitWeight, d, p+posOffset)
		norm(stack.name + ".layernorm_embedding")
		for i := range stack.layers {
			l := fmt.Sprintf("%s.layers.%d.", stack.name, i)
			attn(l + "self_attn")
			norm(l + "self_attn_layer_norm")
			if stack.name == "model.decoder" {
				attn(l + "encoder_attn")
				norm(l + "encoder_attn_layer_norm")
			}
			lin(l+"fc1", d, stack.ffn)
			lin(l+"fc2", stack.ffn, d)
			norm(l + "final_layer_norm")
		}
	}
	return specs, nil
}

// SynthConfig is the metadata of a tiny (tests, demo) or full-size
// (facebook/bart-base dimensions and generation settings) model, with a
// synthetic byte-level BPE vocabulary of the right size (see SynthVocab).
func SynthConfig(size string) (fsggml.KV, error) {
	var kv fsggml.KV
	switch size {
	case "full":
		kv = fsggml.KV{
			"d_model": uint32(768), "encoder_layers": uint32(6), "decoder_layers": uint32(6),
			"encoder_attention_heads": uint32(12), "decoder_attention_heads": uint32(12),
			"encoder_ffn_dim": uint32(3072), "decoder_ffn_dim": uint32(3072),
			"max_position_embeddings": uint32(1024), "vocab_size": uint32(50265),
		}
	case "tiny":
		kv = fsggml.KV{
			"d_model": uint32(32), "encoder_layers": uint32(2), "decoder_layers": uint32(2),
			"encoder_attention_heads": uint32(4), "decoder_attention_heads": uint32(4),
			"encoder_ffn_dim": uint32(64), "decoder_ffn_dim": uint32(64),
			"max_position_embeddings": uint32(64), "vocab_size": uint32(400),
		}
	default:
		return nil, fmt.Errorf("unknown size %q (tiny or full)", size)
	}
	kv["scale_embedding"] = false
	kv["activation_function"] = "gelu"
	// facebook/bart-base's config.json generation settings.
	for k, v := range map[string]uint32{"bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2,
		"decoder_start_token_id": 2, "forced_bos_token_id": 0, "forced_eos_token_id": 2,
		"num_beams": 4, "no_repeat_ngram_size": 3, "max_length": 20, "min_length": 0} {
		kv[k] = v
	}
	kv["early_stopping"] = true
	kv["length_penalty"] = float32(1)
	tokens, types, merges := SynthVocab(raw(kv, "vocab_size"))
	kv["tokenizer.ggml.model"] = "gpt2"
	kv["tokenizer.ggml.tokens"] = tokens
	kv["tokenizer.ggml.token_type"] = types
	kv["tokenizer.ggml.merges"] = merges
	return kv, nil
}

// layerCtx returns the context for tensors of layer i (its device).
func layerCtx(ctx ml.Context, i int) ml.Context { return ctx.Layer(i) }
