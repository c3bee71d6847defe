package bindings

import (
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
)

// TestWithArchKeepsTokenizerKeys: an embedded tokenizer keeps GGUF's
// tokenizer.* names (ollama's loader and llama.cpp read them there); other
// keys get the architecture prefix.
func TestWithArchKeepsTokenizerKeys(t *testing.T) {
	kv := withArch(fsggml.KV{"tokenizer.ggml.model": "gpt2", "d_model": uint32(8), "general.name": "x"}, "bart")
	for _, k := range []string{"tokenizer.ggml.model", "bart.d_model", "general.name", "general.architecture"} {
		if _, ok := kv[k]; !ok {
			t.Errorf("key %s missing from %v", k, kv)
		}
	}
	if len(kv) != 4 {
		t.Errorf("%d keys, want 4: %v", len(kv), kv)
	}
}
