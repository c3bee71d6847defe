package bart

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// raw reads an unprefixed uint32 of a converter's metadata.
func raw(kv fsggml.KV, key string) int { v, _ := kv[key].(uint32); return int(v) }

// hfFiles are the files of a Hugging Face BART folder.
type hfFiles struct {
	weights, config, vocab, merges, generation string
}

// findFiles accepts one folder or the files themselves (recognized by
// name: *.safetensors or *.bin/*.pth weights, config.json, vocab.json,
// merges.txt, generation_config.json).
func findFiles(inputs []string) (hfFiles, error) {
	var f hfFiles
	var paths []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return f, badinput.Errorf("%s: %v", in, err)
		}
		if !st.IsDir() {
			paths = append(paths, in)
			continue
		}
		for _, name := range []string{"model.safetensors", "pytorch_model.bin", "config.json", "vocab.json", "merges.txt", "generation_config.json"} {
			if _, err := os.Stat(filepath.Join(in, name)); err == nil {
				paths = append(paths, filepath.Join(in, name))
			}
		}
	}
	for _, p := range paths {
		base := filepath.Base(p)
		switch {
		case base == "config.json":
			f.config = p
		case base == "generation_config.json":
			f.generation = p
		case base == "vocab.json":
			f.vocab = p
		case base == "merges.txt":
			f.merges = p
		case strings.HasSuffix(base, ".safetensors") || strings.HasSuffix(base, ".bin") || strings.HasSuffix(base, ".pth"):
			if f.weights == "" || strings.HasSuffix(base, ".safetensors") {
				f.weights = p
			}
		default:
			return f, badinput.Errorf("%s: not a file of a BART folder (want model.safetensors or pytorch_model.bin, config.json, vocab.json, merges.txt, generation_config.json)", p)
		}
	}
	for _, need := range []struct{ path, name string }{
		{f.weights, "model.safetensors or pytorch_model.bin"}, {f.config, "config.json"},
		{f.vocab, "vocab.json"}, {f.merges, "merges.txt"}} {
		if need.path == "" {
			return f, badinput.Errorf("%v: %s is missing", inputs, need.name)
		}
	}
	return f, nil
}

// archKeys are the config.json integers of the architecture.
var archKeys = []string{"d_model", "encoder_layers", "decoder_layers", "encoder_attention_heads",
	"decoder_attention_heads", "encoder_ffn_dim", "decoder_ffn_dim", "max_position_embeddings", "vocab_size"}

// Convert reads a Hugging Face BART folder (see findFiles) and returns the
// metadata and tensors (names per the package comment).
func Convert(inputs []string) (fsggml.KV, map[string][]float32, error) {
	files, err := findFiles(inputs)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := checkpoint.ReadConfig(files.config)
	if err != nil {
		return nil, nil, err
	}
	if mt, _ := cfg["model_type"].(string); mt != "bart" {
		return nil, nil, badinput.Errorf("%s: model_type is %q, want \"bart\"", files.config, mt)
	}
	kv := fsggml.KV{}
	for _, k := range archKeys {
		v, ok := cfg[k].(float64)
		if !ok || v < 1 || v != float64(int(v)) {
			return nil, nil, badinput.Errorf("%s: %s is missing or not a positive integer", files.config, k)
		}
		kv[k] = uint32(v)
	}
	kv["scale_embedding"], _ = cfg["scale_embedding"].(bool)
	act, _ := cfg["activation_function"].(string)
	if act == "" {
		act = "gelu"
	}
	if _, ok := activations[act]; !ok {
		return nil, nil, badinput.Errorf("%s: activation_function %q is not supported (gelu, relu)", files.config, act)
	}
	kv["activation_function"] = act
	if err := generationKV(kv, cfg, files); err != nil {
		return nil, nil, err
	}
	tokens, merges, err := readVocab(files, raw(kv, "vocab_size"))
	if err != nil {
		return nil, nil, err
	}
	kv["tokenizer.ggml.model"] = "gpt2"
	kv["tokenizer.ggml.tokens"] = tokens
	kv["tokenizer.ggml.token_type"] = TokenTypes(tokens)
	kv["tokenizer.ggml.merges"] = merges

	sd, err := checkpoint.Load(files.weights)
	if err != nil {
		return nil, nil, err
	}
	values, err := convertTensors(sd, kv)
	if err != nil {
		return nil, nil, badinput.Errorf("%s: %v", files.weights, err)
	}
	return kv, values, nil
}

// generationKV records the generation defaults: generation_config.json over
// config.json over Hugging Face's defaults.
func generationKV(kv fsggml.KV, cfg map[string]any, files hfFiles) error {
	gen := map[string]any{}
	if files.generation != "" {
		var err error
		if gen, err = checkpoint.ReadConfig(files.generation); err != nil {
			return err
		}
	}
	get := func(k string) (any, bool) {
		if v, ok := gen[k]; ok {
			return v, true
		}
		v, ok := cfg[k]
		return v, ok
	}
	for _, k := range []string{"bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id",
		"forced_bos_token_id", "forced_eos_token_id", "num_beams", "max_length", "min_length", "no_repeat_ngram_size"} {
		v, ok := get(k)
		if !ok || v == nil {
			continue // absent token ids stay absent; the others take HF's defaults in New
		}
		f, ok := v.(float64)
		if !ok || f < 0 || f != float64(int(f)) {
			return badinput.Errorf("%s: %s = %v is not a non-negative integer", files.config, k, v)
		}
		kv[k] = uint32(f)
	}
	if v, ok := get("length_penalty"); ok {
		if f, ok := v.(float64); ok {
			kv["length_penalty"] = float32(f)
		}
	}
	if v, ok := get("early_stopping"); ok {
		b, _ := v.(bool) // "never" (newer transformers) reads as false
		kv["early_stopping"] = b
	}
	if _, ok := kv["decoder_start_token_id"]; !ok {
		if eos, ok := kv["eos_token_id"]; ok {
			kv["decoder_start_token_id"] = eos
		} else {
			return badinput.Errorf("%s: decoder_start_token_id and eos_token_id are missing", files.config)
		}
	}
	return nil
}

// readVocab reads vocab.json (token → id, ids 0 … n−1) and merges.txt.
func readVocab(files hfFiles, vocabSize int) ([]string, []string, error) {
	b, err := os.ReadFile(files.vocab)
	if err != nil {
		return nil, nil, badinput.Errorf("%s: %v", files.vocab, err)
	}
	var ids map[string]int
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, nil, badinput.Errorf("%s: not a token → id JSON object: %v", files.vocab, err)
	}
	if len(ids) != vocabSize {
		return nil, nil, badinput.Errorf("%s: %d tokens, but config.json vocab_size (the embedding rows) is %d", files.vocab, len(ids), vocabSize)
	}
	tokens := make([]string, len(ids))
	for tok, id := range ids {
		if id < 0 || id >= len(ids) || tokens[id] != "" {
			return nil, nil, badinput.Errorf("%s: token ids are not 0 … %d, each once (id %d)", files.vocab, len(ids)-1, id)
		}
		tokens[id] = tok
	}
	f, err := os.Open(files.merges)
	if err != nil {
		return nil, nil, badinput.Errorf("%s: %v", files.merges, err)
	}
	defer f.Close()
	var merges []string
	sc := bufio.NewScanner(f)
	for line := 0; sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if s == "" || (line == 0 && strings.HasPrefix(s, "#version")) {
			continue
		}
		if len(strings.Split(s, " ")) != 2 {
			return nil, nil, badinput.Errorf("%s:%d: want two symbols separated by one space", files.merges, line+1)
		}
		merges = append(merges, s)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, badinput.Errorf("%s: %v", files.merges, err)
	}
	return tokens, merges, nil
}

// convertTensors takes every tensor from the state dict (PyTorch shapes,
// which are ggml's reversed: same bytes) under its GGUF name.
func convertTensors(sd checkpoint.StateDict, kv fsggml.KV) (map[string][]float32, error) {
	d, v, p := raw(kv, "d_model"), raw(kv, "vocab_size"), raw(kv, "max_position_embeddings")
	values := map[string][]float32{}
	take := func(key string, shape ...int) error {
		t, err := sd.Take(key, shape...)
		if err != nil {
			return err
		}
		values[key] = t.Data
		return nil
	}
	// A BartModel checkpoint (no "model." prefix) reads as the model part of
	// BartForConditionalGeneration.
	if _, ok := sd["shared.weight"]; ok {
		for _, k := range sd.Keys() {
			if !strings.HasPrefix(k, "model.") && k != "final_logits_bias" && k != "lm_head.weight" {
				sd["model."+k] = sd[k]
				delete(sd, k)
			}
		}
	}
	// the shared embedding, and its tied copies (which must be equal)
	shared := "model.shared.weight"
	if _, ok := sd[shared]; !ok {
		if t, ok := sd["model.encoder.embed_tokens.weight"]; ok {
			sd[shared] = t
			delete(sd, "model.encoder.embed_tokens.weight")
		}
	}
	if err := take(shared, v, d); err != nil {
		return nil, err
	}
	for _, tied := range []string{"model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"} {
		if t, ok := sd[tied]; ok {
			if !slices.Equal(t.Shape, []int{v, d}) || !slices.Equal(t.Data, values[shared]) {
				return nil, fmt.Errorf("%s differs from %s: untied embeddings are not supported", tied, shared)
			}
			delete(sd, tied)
		}
	}
	// A BartModel checkpoint has no LM head buffer: final_logits_bias is
	// zeros, as BartForConditionalGeneration initializes it.
	values["final_logits_bias"] = make([]float32, v)
	if _, ok := sd["final_logits_bias"]; ok {
		flb, err := sd.Take("final_logits_bias", 1, v)
		if err != nil {
			return nil, err
		}
		values["final_logits_bias"] = flb.Data
	}
	lin := func(name string, in, out int) error {
		if err := take(name+".weight", out, in); err != nil {
			return err
		}
		return take(name+".bias", out)
	}
	norm := func(name string) error {
		if err := take(name+".weight", d); err != nil {
			return err
		}
		return take(name+".bias", d)
	}
	for _, stack := range []struct {
		name      string
		layers    int
		ffn       string
		crossAttn bool
	}{{"model.encoder", raw(kv, "encoder_layers"), "encoder_ffn_dim", false},
		{"model.decoder", raw(kv, "decoder_layers"), "decoder_ffn_dim", true}} {
		ffn := raw(kv, stack.ffn)
		if err := take(stack.name+".embed_positions.weight", p+posOffset, d); err != nil {
			return nil, err
		}
		if err := norm(stack.name + ".layernorm_embedding"); err != nil {
			return nil, err
		}
		for i := range stack.layers {
			l := fmt.Sprintf("%s.layers.%d.", stack.name, i)
			attns := []string{"self_attn"}
			if stack.crossAttn {
				attns = append(attns, "encoder_attn")
			}
			for _, a := range attns {
				for _, pr := range []string{"q_proj", "k_proj", "v_proj", "out_proj"} {
					if err := lin(l+a+"."+pr, d, d); err != nil {
						return nil, err
					}
				}
				if err := norm(l + a + "_layer_norm"); err != nil {
					return nil, err
				}
			}
			if err := lin(l+"fc1", d, ffn); err != nil {
				return nil, err
			}
			if err := lin(l+"fc2", ffn, d); err != nil {
				return nil, err
			}
			if err := norm(l + "final_layer_norm"); err != nil {
				return nil, err
			}
		}
	}
	if rest := sd.Rest(); len(rest) > 0 {
		return nil, fmt.Errorf("not a BartForConditionalGeneration checkpoint of this config: unexpected tensors %v", rest[:min(len(rest), 5)])
	}
	return values, nil
}
