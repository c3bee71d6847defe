package bindings

import (
	"slices"
	"strings"
)

// LoaderSlot states where ollama's GGUF loader (ml/backend/ggml, New) puts
// a tensor of a file with the given block count, by its name alone:
//
//   - "input" (always the CPU): names with a part position_embd, token_embd,
//     token_norm_embd or token_types, and names holding no number;
//   - "output" (the device of layer blocks): names with a part cls, output,
//     output_norm, altup_proj, altup_unembd_proj, per_layer_token_embd,
//     per_layer_model_proj or per_layer_proj_norm, and names starting with
//     v., mm. or s.;
//   - "layer" (the device of layer N, N the first number in the name).
//
// bindings.Open puts layers 0..blocks on the chosen GPU, so a model has all
// its weights there exactly when no tensor's slot is "input". Non-layered
// models (UNet, VAE, detectors) must choose names accordingly; models/sd
// numbers its networks' prefixes for this.
func LoaderSlot(name string) (slot string, layer int) {
	parts := strings.Split(name, ".")
	has := func(words ...string) bool {
		for _, w := range words {
			if slices.Contains(parts, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("position_embd", "token_embd", "token_norm_embd", "token_types"):
		return "input", -1
	case has("cls", "output", "output_norm", "altup_proj", "altup_unembd_proj",
		"per_layer_token_embd", "per_layer_model_proj", "per_layer_proj_norm"):
		return "output", -1
	case strings.HasPrefix(name, "v.") || strings.HasPrefix(name, "mm.") || strings.HasPrefix(name, "s."):
		return "output", -1
	}
	if i := blockIndex(name); i >= 0 {
		return "layer", i
	}
	return "input", -1
}
