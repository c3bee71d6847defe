package llava

import (
	"fmt"
	"strings"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/clip"
)

// ChatMLTemplate is the Jinja chat template written into synthetic and
// converted LMs that have none: ChatML with Qwen's default system prompt.
const ChatMLTemplate = `{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
You are a helpful assistant.<|im_end|>
' }}{% endif %}{{'<|im_start|>' + message['role'] + '
' + message['content'] + '<|im_end|>' + '
'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant
' }}{% endif %}`

// MMProjPath is where SynthPair and ConvertPair write the mmproj of an LM
// written to lm: beside it, "-mmproj" before ".gguf".
func MMProjPath(lm string) string {
	return strings.TrimSuffix(lm, ".gguf") + "-mmproj.gguf"
}

// prefixed gives every key the arch prefix except general.* and tokenizer.*.
func prefixed(kv fsggml.KV, arch string) fsggml.KV {
	out := fsggml.KV{"general.architecture": arch}
	for k, v := range kv {
		if strings.HasPrefix(k, "general.") || strings.HasPrefix(k, "tokenizer.") || strings.HasPrefix(k, arch+".") {
			out[k] = v
		} else {
			out[arch+"."+k] = v
		}
	}
	return out
}

// TokenizerKV is the GGUF tokenizer metadata of a byte-level BPE vocabulary
// with Qwen's special tokens.
func TokenizerKV(tokens []string, types []int32, merges []string, template string) fsggml.KV {
	id := func(s string) uint32 {
		for i, t := range tokens {
			if t == s {
				return uint32(i)
			}
		}
		return 0
	}
	return fsggml.KV{
		"tokenizer.ggml.model":            "gpt2",
		"tokenizer.ggml.pre":              "qwen2",
		"tokenizer.ggml.tokens":           tokens,
		"tokenizer.ggml.token_type":       types,
		"tokenizer.ggml.merges":           merges,
		"tokenizer.ggml.bos_token_id":     id(EndOfText),
		"tokenizer.ggml.eos_token_id":     id(ImEnd),
		"tokenizer.ggml.padding_token_id": id(EndOfText),
		"tokenizer.ggml.add_bos_token":    false,
		"tokenizer.chat_template":         template,
	}
}

// SynthPair writes a matching LM + mmproj pair with seeded random weights:
// out and MMProjPath(out).
func SynthPair(size string, seed uint64, want fsggml.TensorType, out string) ([]string, error) {
	lmKV, err := LMConfig(size)
	if err != nil {
		return nil, err
	}
	vocab, merges, specialAt := 512, 200, 509
	if size == "full" {
		vocab, merges, specialAt = 151936, 1<<20, 151643 // Qwen1.5's vocabulary size and special ids
	}
	tokens, types, mergeList, err := SynthVocab(vocab, merges, specialAt, seed)
	if err != nil {
		return nil, err
	}
	for k, v := range TokenizerKV(tokens, types, mergeList, ChatMLTemplate) {
		lmKV[k] = v
	}
	lmKV = prefixed(lmKV, LMArch)
	lmKV["general.name"] = fmt.Sprintf("llava-%s-synth-seed%d", size, seed)
	lmKV["general.file_type"] = bindings.FileTypeOf(want)
	specs, err := LMTensors(lmKV)
	if err != nil {
		return nil, err
	}
	if err := bindings.WriteFile(out, lmKV, bindings.SynthTensors(specs, seed, want)); err != nil {
		return nil, err
	}

	vkv, err := clip.VisionConfig(size)
	if err != nil {
		return nil, err
	}
	vkv = prefixed(vkv, clip.VisionArch)
	vkv["general.name"] = fmt.Sprintf("llava-%s-synth-seed%d mmproj", size, seed)
	vkv["general.file_type"] = bindings.FileTypeOf(want)
	vspecs, err := clip.VisionTensors(vkv)
	if err != nil {
		return nil, err
	}
	mm := MMProjPath(out)
	if err := bindings.WriteFile(mm, vkv, bindings.SynthTensors(vspecs, seed, want)); err != nil {
		return nil, err
	}
	return []string{out, mm}, nil
}
