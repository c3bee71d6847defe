package llava

import (
	"fmt"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/model/models/qwen2"

	"github.com/multisc/multisc/bindings"
)

// LMArch is the language model's general.architecture: llama.cpp's and
// ollama's "qwen2" (Qwen1.5 and Qwen2), run by ollama's model/models/qwen2.
const LMArch = "qwen2"

// LMConfig is the metadata of a synthetic language model (keys without
// the "qwen2." prefix): Qwen1.5-0.5B's shapes for "full".
func LMConfig(size string) (fsggml.KV, error) {
	switch size {
	case "tiny":
		return LMConfigFor(64, 2, 4, 4, 128, 128), nil
	case "full":
		return LMConfigFor(1024, 24, 16, 16, 2816, 32768), nil
	}
	return nil, fmt.Errorf("size %q: want tiny or full", size)
}

// LMConfigFor is the qwen2 metadata of a model of that shape.
func LMConfigFor(hidden, layers, heads, kvHeads, ff, ctxLen int) fsggml.KV {
	return fsggml.KV{
		"embedding_length":                 uint32(hidden),
		"block_count":                      uint32(layers),
		"attention.head_count":             uint32(heads),
		"attention.head_count_kv":          uint32(kvHeads),
		"feed_forward_length":              uint32(ff),
		"context_length":                   uint32(ctxLen),
		"rope.freq_base":                   float32(1e6),
		"attention.layer_norm_rms_epsilon": float32(1e-6),
	}
}

// lmVocabSize is the number of tokens in the file's tokenizer.
func lmVocabSize(kv fsggml.KV) int {
	switch v := kv["tokenizer.ggml.tokens"].(type) {
	case []string:
		return len(v)
	}
	return len(kv.Strings("tokenizer.ggml.tokens"))
}

// LMTensors lists the tensors of a qwen2 file (llama.cpp names). output.weight
// is optional (tied to token_embd when absent, as in Qwen1.5-0.5B).
func LMTensors(kv fsggml.KV) ([]bindings.TensorSpec, error) {
	h := uint64(kv.Uint("embedding_length"))
	layers := uint64(kv.Uint("block_count"))
	heads := uint64(kv.Uint("attention.head_count"))
	kvh := uint64(kv.Uint("attention.head_count_kv", uint32(heads)))
	ff := uint64(kv.Uint("feed_forward_length"))
	v := uint64(lmVocabSize(kv))
	if h == 0 || layers == 0 || heads == 0 || h%heads != 0 || kvh == 0 || heads%kvh != 0 || ff == 0 {
		return nil, fmt.Errorf("qwen2 metadata is missing or inconsistent (embedding_length %d, block_count %d, head_count %d, head_count_kv %d, feed_forward_length %d)",
			h, layers, heads, kvh, ff)
	}
	if v == 0 {
		return nil, fmt.Errorf("tokenizer.ggml.tokens is missing (the tokenizer must be embedded)")
	}
	kvd := h / heads * kvh
	var s []bindings.TensorSpec
	add := func(name string, init bindings.Init, shape ...uint64) {
		s = append(s, bindings.TensorSpec{Name: name, Shape: shape, Init: init})
	}
	add("token_embd.weight", bindings.InitWeight, h, v)
	for i := range layers {
		p := fmt.Sprintf("blk.%d.", i)
		add(p+"attn_norm.weight", bindings.InitOnes, h)
		add(p+"attn_q.weight", bindings.InitWeight, h, h)
		add(p+"attn_q.bias", bindings.InitBias, h)
		add(p+"attn_k.weight", bindings.InitWeight, h, kvd)
		add(p+"attn_k.bias", bindings.InitBias, kvd)
		add(p+"attn_v.weight", bindings.InitWeight, h, kvd)
		add(p+"attn_v.bias", bindings.InitBias, kvd)
		add(p+"attn_output.weight", bindings.InitWeight, h, h)
		add(p+"ffn_norm.weight", bindings.InitOnes, h)
		add(p+"ffn_gate.weight", bindings.InitWeight, h, ff)
		add(p+"ffn_up.weight", bindings.InitWeight, h, ff)
		add(p+"ffn_down.weight", bindings.InitWeight, ff, h)
	}
	add("output_norm.weight", bindings.InitOnes, h)
	return s, nil
}

// The LM model type ollama registers for LMArch.
type lmModel = qwen2.Model

func init() {
	bindings.RegisterArch(bindings.Arch{
		Name:    LMArch,
		Short:   "Qwen1.5/Qwen2 language model (llama.cpp GGUF), LLaVA's LM; synth it with --arch llava",
		Tensors: LMTensors,
		Config: func(string) (fsggml.KV, error) {
			return nil, fmt.Errorf("a qwen2 model needs a tokenizer: use `multisc synth --arch llava`, which writes the LM and its mmproj")
		},
	})
	bindings.RegisterMultiFile(Arch, bindings.MultiFile{Synth: SynthPair, Convert: ConvertPair})
	bindings.RegisterArch(bindings.Arch{
		Name:  Arch,
		Short: "LLaVA captioner: writes a qwen2 LM + clip mmproj pair (OUT and OUT's -mmproj.gguf sibling)",
		Tensors: func(fsggml.KV) ([]bindings.TensorSpec, error) {
			return nil, fmt.Errorf("llava is a pair of files: the LM (general.architecture qwen2) and the mmproj (clip)")
		},
		Config: func(string) (fsggml.KV, error) {
			return nil, fmt.Errorf("llava writes two files: use `multisc synth --arch llava` (SynthPair)")
		},
		Convert: func([]string) (fsggml.KV, map[string][]float32, error) {
			return nil, nil, fmt.Errorf("llava writes two files: use `multisc convert --arch llava` (ConvertPair)")
		},
		Inputs: "LLaVA checkpoint folder (config.json, weights, tokenizer.json), then the vision tower's folder; --out names the LM, the mmproj is written beside it",
	})
}
