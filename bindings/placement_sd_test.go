package bindings

import "testing"

// TestLoaderSlot pins the rule to ollama's loader on names of each kind.
func TestLoaderSlot(t *testing.T) {
	for _, tc := range []struct {
		name  string
		slot  string
		layer int
	}{
		{"token_embd.weight", "input", -1},
		{"blk.3.attn_q.weight", "layer", 3},
		{"output_norm.weight", "output", -1},
		{"v.blk.0.attn_q.weight", "output", -1},
		{"mm.2.weight", "output", -1},
		{"conv_in.weight", "input", -1},
		{"first_stage_model.decoder.conv_in.weight", "input", -1},
		{"time_embedding.linear_1.weight", "layer", 1},
		{"2.vae.decoder.conv_in.weight", "layer", 2},
		{"features.10.bias", "layer", 10},
	} {
		slot, layer := LoaderSlot(tc.name)
		if slot != tc.slot || layer != tc.layer {
			t.Errorf("%s: %s %d, want %s %d", tc.name, slot, layer, tc.slot, tc.layer)
		}
	}
}
