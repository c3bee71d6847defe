package llava

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/models/clip"
)

// ConvertPair turns a LLaVA-repo checkpoint folder (config.json with the
// mm_* keys, the LM + projector weights as safetensors or .bin shards,
// tokenizer.json, tokenizer_config.json) and its vision tower's folder, in
// either order, into llama.cpp's pair: the LM GGUF at out (general.architecture
// qwen2, byte-level BPE tokenizer and chat template in metadata) and the
// mmproj at MMProjPath(out). Nothing is written unless both convert.
func ConvertPair(inputs []string, want fsggml.TensorType, out string) ([]string, error) {
	if len(inputs) != 2 {
		return nil, badinput.Errorf("%v: llava takes two folders: the LLaVA checkpoint and its vision tower, got %d", inputs, len(inputs))
	}
	var llava, tower *clip.VisionFolder
	for _, in := range inputs {
		f, err := clip.VisionReadFolder(in, nil)
		if err != nil {
			return nil, err
		}
		if clip.IsLLaVAConfig(f.Config) {
			llava = f
		} else {
			tower = f
		}
	}
	if llava == nil || tower == nil {
		return nil, badinput.Errorf("%v: want one LLaVA folder (config.json with mm_projector_type) and one vision tower folder", inputs)
	}
	// bindings/checkpoint strips a "model." prefix shared by every key of
	// a PyTorch file: put it back so both spellings read the same.
	for k, v := range llava.Weights {
		if !strings.HasPrefix(k, "model.") && !strings.HasPrefix(k, "lm_head.") {
			delete(llava.Weights, k)
			llava.Weights["model."+k] = v
		}
	}
	vkv, vvals, err := clip.VisionConvertFolders(llava, tower)
	if err != nil {
		return nil, err
	}
	lkv, lvals, err := convertLM(llava)
	if err != nil {
		return nil, err
	}
	lkv = prefixed(lkv, LMArch)
	lkv["general.file_type"] = bindings.FileTypeOf(want)
	lspecs, err := LMTensors(lkv)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", llava.Dir, err)
	}
	if w, ok := lvals["output.weight"]; ok {
		lspecs = append(lspecs, bindings.TensorSpec{Name: "output.weight", Shape: []uint64{uint64(lkv.Uint("embedding_length")), uint64(len(w)) / uint64(lkv.Uint("embedding_length"))}})
	}
	lt, err := tensorsFor(llava.Dir, lspecs, lvals, want)
	if err != nil {
		return nil, err
	}
	vkv = prefixed(vkv, clip.VisionArch)
	vkv["general.file_type"] = bindings.FileTypeOf(want)
	vspecs, err := clip.VisionTensors(vkv)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", tower.Dir, err)
	}
	vt, err := tensorsFor(tower.Dir, vspecs, vvals, want)
	if err != nil {
		return nil, err
	}
	mm := MMProjPath(out)
	if err := bindings.WriteFile(out, lkv, lt); err != nil {
		return nil, fmt.Errorf("%s: %w", out, err)
	}
	if err := bindings.WriteFile(mm, vkv, vt); err != nil {
		os.Remove(out)
		return nil, fmt.Errorf("%s: %w", mm, err)
	}
	return []string{out, mm}, nil
}

// tensorsFor checks converted values against the declared tensors (none
// missing, none left over) and encodes them.
func tensorsFor(dir string, specs []bindings.TensorSpec, vals map[string][]float32, want fsggml.TensorType) ([]*fsggml.Tensor, error) {
	var ts []*fsggml.Tensor
	for _, s := range specs {
		v, ok := vals[s.Name]
		if !ok {
			return nil, badinput.Errorf("%s: converter produced no tensor %s", dir, s.Name)
		}
		if uint64(len(v)) != bindings.Elements(s.Shape) {
			return nil, badinput.Errorf("%s: tensor %s has %d values, want shape %v", dir, s.Name, len(v), s.Shape)
		}
		ts = append(ts, bindings.NewTensor(s.Name, s.Shape, v, bindings.StorageType(s.Name, s.Shape, want)))
		delete(vals, s.Name)
	}
	if len(vals) > 0 {
		var left []string
		for k := range vals {
			left = append(left, k)
		}
		sort.Strings(left)
		return nil, badinput.Errorf("%s: converter produced unexpected tensors %v", dir, left)
	}
	return ts, nil
}

// convertLM maps a Qwen2-family LLaVA language model to llama.cpp's qwen2
// names and metadata.
func convertLM(f *clip.VisionFolder) (fsggml.KV, map[string][]float32, error) {
	c := f.Config
	mt := clip.VisionStr(c, "model_type", "")
	arch := ""
	if a, ok := c["architectures"].([]any); ok && len(a) > 0 {
		arch, _ = a[0].(string)
	}
	if !strings.Contains(strings.ToLower(mt+" "+arch), "qwen") {
		return nil, nil, badinput.Errorf("%s/config.json: language model %q (%s) is not supported (supported: the Qwen1.5/Qwen2 family)", f.Dir, mt, arch)
	}
	h := int(clip.VisionNum(c, "hidden_size", 0))
	layers := int(clip.VisionNum(c, "num_hidden_layers", 0))
	heads := int(clip.VisionNum(c, "num_attention_heads", 0))
	kvh := int(clip.VisionNum(c, "num_key_value_heads", float64(heads)))
	ff := int(clip.VisionNum(c, "intermediate_size", 0))
	if h <= 0 || layers <= 0 || heads <= 0 || kvh <= 0 || ff <= 0 || h%heads != 0 || heads%kvh != 0 {
		return nil, nil, badinput.Errorf("%s/config.json: hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads, intermediate_size are missing or inconsistent", f.Dir)
	}
	kvd := h / heads * kvh
	sd := f.Weights
	vals := map[string][]float32{}
	var errs []string
	take := func(key, name string, shape ...int) {
		t, err := sd.Take(key, shape...)
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		vals[name] = t.Data
	}
	emb, ok := sd["model.embed_tokens.weight"]
	if !ok || len(emb.Shape) != 2 || emb.Shape[1] != h {
		return nil, nil, badinput.Errorf("%s: model.embed_tokens.weight [vocab, %d] is missing", f.Dir, h)
	}
	nvocab := emb.Shape[0]
	take("model.embed_tokens.weight", "token_embd.weight", nvocab, h)
	for i := range layers {
		p, g := fmt.Sprintf("model.layers.%d.", i), fmt.Sprintf("blk.%d.", i)
		take(p+"input_layernorm.weight", g+"attn_norm.weight", h)
		take(p+"self_attn.q_proj.weight", g+"attn_q.weight", h, h)
		take(p+"self_attn.q_proj.bias", g+"attn_q.bias", h)
		take(p+"self_attn.k_proj.weight", g+"attn_k.weight", kvd, h)
		take(p+"self_attn.k_proj.bias", g+"attn_k.bias", kvd)
		take(p+"self_attn.v_proj.weight", g+"attn_v.weight", kvd, h)
		take(p+"self_attn.v_proj.bias", g+"attn_v.bias", kvd)
		take(p+"self_attn.o_proj.weight", g+"attn_output.weight", h, h)
		take(p+"post_attention_layernorm.weight", g+"ffn_norm.weight", h)
		take(p+"mlp.gate_proj.weight", g+"ffn_gate.weight", ff, h)
		take(p+"mlp.up_proj.weight", g+"ffn_up.weight", ff, h)
		take(p+"mlp.down_proj.weight", g+"ffn_down.weight", h, ff)
	}
	take("model.norm.weight", "output_norm.weight", h)
	if _, ok := sd["lm_head.weight"]; ok {
		take("lm_head.weight", "output.weight", nvocab, h)
	}
	if len(errs) > 0 {
		return nil, nil, badinput.Errorf("%s: %s", f.Dir, strings.Join(errs, "; "))
	}
	if rest := sd.Rest("model.vision_tower.", "model.mm_projector.", "model.rotary_emb."); len(rest) > 0 {
		if len(rest) > 8 {
			rest = append(rest[:8], "...")
		}
		return nil, nil, badinput.Errorf("%s: unexpected language-model keys %v", f.Dir, rest)
	}

	kv := LMConfigFor(h, layers, heads, kvh, ff, int(clip.VisionNum(c, "max_position_embeddings", 32768)))
	kv["rope.freq_base"] = float32(clip.VisionNum(c, "rope_theta", 1e6))
	kv["attention.layer_norm_rms_epsilon"] = float32(clip.VisionNum(c, "rms_norm_eps", 1e-6))
	tok, err := convertTokenizer(f.Dir, nvocab)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range tok {
		kv[k] = v
	}
	kv["general.name"] = filepath.Base(f.Dir)
	return kv, vals, nil
}

// convertTokenizer reads a Hugging Face byte-level BPE tokenizer.json (and
// tokenizer_config.json for the EOS token and chat template) into GGUF
// tokenizer metadata with exactly nvocab tokens (ids the tokenizer leaves
// unused become "[PAD<id>]", as llama.cpp's converter writes them).
func convertTokenizer(dir string, nvocab int) (fsggml.KV, error) {
	path := filepath.Join(dir, "tokenizer.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, badinput.Errorf("%s: %v (the LM's tokenizer is required)", path, err)
	}
	var tj struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Type   string            `json:"type"`
			Vocab  map[string]int    `json:"vocab"`
			Merges []json.RawMessage `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &tj); err != nil {
		return nil, badinput.Errorf("%s: not a tokenizer.json: %v", path, err)
	}
	if tj.Model.Type != "BPE" || len(tj.Model.Vocab) == 0 {
		return nil, badinput.Errorf("%s: model type %q is not a byte-level BPE tokenizer", path, tj.Model.Type)
	}
	tokens := make([]string, nvocab)
	types := make([]int32, nvocab)
	set := func(id int, s string, typ int32) error {
		if id < 0 || id >= nvocab {
			return badinput.Errorf("%s: token %q has id %d outside the embedding's %d rows", path, s, id, nvocab)
		}
		tokens[id], types[id] = s, typ
		return nil
	}
	for s, id := range tj.Model.Vocab {
		if err := set(id, s, tokenNormal); err != nil {
			return nil, err
		}
	}
	for _, a := range tj.AddedTokens {
		typ := int32(4) // user-defined
		if a.Special {
			typ = tokenControl
		}
		if err := set(a.ID, a.Content, typ); err != nil {
			return nil, err
		}
	}
	for i := range tokens {
		if tokens[i] == "" {
			tokens[i], types[i] = fmt.Sprintf("[PAD%d]", i), 4
		}
	}
	var merges []string
	for _, m := range tj.Model.Merges {
		var s string
		var pair []string
		if json.Unmarshal(m, &s) == nil {
			merges = append(merges, s)
		} else if json.Unmarshal(m, &pair) == nil && len(pair) == 2 {
			merges = append(merges, pair[0]+" "+pair[1])
		} else {
			return nil, badinput.Errorf("%s: merge %s is neither \"a b\" nor [\"a\", \"b\"]", path, m)
		}
	}
	template := ChatMLTemplate
	eos := ImEnd
	if tc, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json")); err == nil {
		var cfg map[string]any
		if err := json.Unmarshal(tc, &cfg); err != nil {
			return nil, badinput.Errorf("%s/tokenizer_config.json: %v", dir, err)
		}
		if t, ok := cfg["chat_template"].(string); ok && t != "" {
			template = t
		}
		switch e := cfg["eos_token"].(type) {
		case string:
			eos = e
		case map[string]any:
			if s, ok := e["content"].(string); ok {
				eos = s
			}
		}
	}
	kv := TokenizerKV(tokens, types, merges, template)
	found := false
	for i, t := range tokens {
		if t == eos {
			kv["tokenizer.ggml.eos_token_id"] = uint32(i)
			found = true
		}
	}
	if !found {
		return nil, badinput.Errorf("%s: EOS token %q is not in the vocabulary", path, eos)
	}
	return kv, nil
}
