package bart

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/bindings/checkpoint"
)

// writeSafetensors writes f32 tensors as a safetensors file.
func writeSafetensors(t *testing.T, path string, sd checkpoint.StateDict) {
	t.Helper()
	if err := checkpoint.WriteSafetensors(path, sd); err != nil {
		t.Fatal(err)
	}
}

// fixtureFolder copies testdata/bart_tiny's JSON and text files to a new
// folder, with edit applied to the state dict written as model.safetensors
// (nil: keep pytorch_model.bin).
func fixtureFolder(t *testing.T, edit func(sd checkpoint.StateDict)) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"config.json", "generation_config.json", "vocab.json", "merges.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata/bart_tiny", name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	if edit == nil {
		b, _ := os.ReadFile("testdata/bart_tiny/pytorch_model.bin")
		os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), b, 0o644)
		return dir
	}
	sd, err := checkpoint.Load("testdata/bart_tiny/pytorch_model.bin")
	if err != nil {
		t.Fatal(err)
	}
	edit(sd)
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), sd)
	return dir
}

// untie drops the tied copies, as Hugging Face's safetensors exports do.
func untie(sd checkpoint.StateDict) {
	for _, k := range []string{"lm_head.weight", "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"} {
		delete(sd, k)
	}
}

// TestConvertSafetensors: a model.safetensors folder without the tied
// copies converts to the same GGUF bytes as pytorch_model.bin.
func TestConvertSafetensors(t *testing.T) {
	out := t.TempDir()
	a, b := filepath.Join(out, "a.gguf"), filepath.Join(out, "b.gguf")
	if err := bindings.ConvertFiles(Arch, []string{"testdata/bart_tiny"}, fsggml.TensorTypeF16, a); err != nil {
		t.Fatal(err)
	}
	if err := bindings.ConvertFiles(Arch, []string{fixtureFolder(t, untie)}, fsggml.TensorTypeF16, b); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if len(x) == 0 || !bytes.Equal(x, y) {
		t.Fatal("safetensors and pytorch_model.bin conversions differ")
	}
}

// TestConvertBartModel: a BartModel state dict (no "model." prefix, no
// final_logits_bias) converts to the same tensors with a zero
// final_logits_bias.
func TestConvertBartModel(t *testing.T) {
	dir := fixtureFolder(t, func(sd checkpoint.StateDict) {
		untie(sd)
		delete(sd, "final_logits_bias")
		for _, k := range sd.Keys() {
			sd[strings.TrimPrefix(k, "model.")] = sd[k]
			delete(sd, k)
		}
	})
	_, got, err := Convert([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	_, want, err := Convert([]string{"testdata/bart_tiny"})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if k == "final_logits_bias" {
			if slices.ContainsFunc(got[k], func(x float32) bool { return x != 0 }) {
				t.Error("final_logits_bias not zero")
			}
			continue
		}
		if !slices.Equal(got[k], v) {
			t.Errorf("%s differs", k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d tensors, want %d", len(got), len(want))
	}
}

func TestConvertBadInput(t *testing.T) {
	edited := func(name string, edit func(string) string) string {
		dir := fixtureFolder(t, nil)
		p := filepath.Join(dir, name)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, []byte(edit(string(b))), 0o644)
		return dir
	}
	noVocab := fixtureFolder(t, nil)
	os.Remove(filepath.Join(noVocab, "vocab.json"))
	for _, tc := range []struct {
		name  string
		in    string
		frags []string
	}{
		{"no vocab", noVocab, []string{"vocab.json is missing"}},
		{"fewer tokens", edited("vocab.json", func(s string) string { return strings.Replace(s, `, "<mask>": 320}`, "}", 1) }), []string{"320 tokens", "vocab_size", "321"}},
		{"model type", edited("config.json", func(s string) string { return strings.Replace(s, `"bart"`, `"mbart"`, 1) }), []string{"model_type", "mbart"}},
		{"activation", edited("config.json", func(s string) string { return strings.Replace(s, `"gelu"`, `"swish"`, 1) }), []string{"swish"}},
		{"merges", edited("merges.txt", func(s string) string { return s + "a b c\n" }), []string{"merges.txt", "two symbols"}},
		{"untied head", fixtureFolder(t, func(sd checkpoint.StateDict) {
			sd["lm_head.weight"] = &checkpoint.Tensor{Shape: sd["model.shared.weight"].Shape, Data: make([]float32, len(sd["model.shared.weight"].Data))}
		}), []string{"lm_head.weight", "untied"}},
		{"missing tensor", fixtureFolder(t, func(sd checkpoint.StateDict) {
			untie(sd)
			delete(sd, "model.decoder.layers.1.fc2.bias")
		}), []string{"model.decoder.layers.1.fc2.bias"}},
		{"extra tensor", fixtureFolder(t, func(sd checkpoint.StateDict) {
			untie(sd)
			sd["model.decoder.layer_norm.weight"] = &checkpoint.Tensor{Shape: []int{32}, Data: make([]float32, 32)}
		}), []string{"model.decoder.layer_norm.weight"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := bindings.ConvertFiles(Arch, []string{tc.in}, fsggml.TensorTypeF32, filepath.Join(t.TempDir(), "x.gguf"))
			if !badinput.Is(err) {
				t.Fatalf("got %v, want a bad-input error", err)
			}
			for _, f := range tc.frags {
				if !strings.Contains(err.Error(), f) {
					t.Errorf("%v does not mention %q", err, f)
				}
			}
		})
	}
}
