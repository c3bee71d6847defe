package main

import (
	"path/filepath"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
)

// TestConvertDefaultType: without --type, `convert --arch sd15` stores f16
// (its registered default); --type f32 overrides it; lpips keeps f32.
func TestConvertDefaultType(t *testing.T) {
	sd := []string{"../../models/sd/testdata/sd_tiny.safetensors", "../../models/sd/testdata/vocab.json", "../../models/sd/testdata/merges.txt"}
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		args     []string
		wantType string
		wantF16  bool
	}{
		{"sd15 default", append([]string{"--arch", "sd15"}, sd...), "--type f16", true},
		{"sd15 f32", append([]string{"--arch", "sd15", "--type", "f32"}, sd...), "--type f32", false},
		{"lpips default", []string{"--arch", "lpips", "../../models/lpips/testdata/alexnet_tiny.pth", "../../models/lpips/testdata/alex_tiny.pth"}, "--type f32", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".gguf")
			stdout, stderr, code := runCLI(t, append([]string{"convert", "--out", out}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, tc.wantType) {
				t.Fatalf("stdout %q does not say %q", stdout, tc.wantType)
			}
			meta, err := bindings.Header(out)
			if err != nil {
				t.Fatal(err)
			}
			f16 := 0
			for _, it := range meta.Tensors().Items() {
				if fsggml.TensorType(it.Kind) == fsggml.TensorTypeF16 {
					f16++
				}
			}
			if (f16 > 0) != tc.wantF16 {
				t.Fatalf("%d f16 tensors, want f16: %v", f16, tc.wantF16)
			}
		})
	}
}
