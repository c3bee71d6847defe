package detr

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
)

var update = flag.Bool("update", false, "rewrite testdata/convert.sha256 from the current converter")

// TestConvertGolden: the streaming converter writes, byte for byte, the
// GGUF files the earlier load-everything converter wrote (their SHA-256s in
// testdata/convert.sha256 were recorded with it, commit 8a9f310, before the
// converter moved to bindings.RegisterStreamConverter), for both checkpoint
// layouts, with and without config.json, in f32, f16 and q8_0. A change in
// fs/ggml's writer also changes the hashes: check the values, then -update.
func TestConvertGolden(t *testing.T) {
	cases := [][]string{
		{"detr_tiny.pth", "config.json"},
		{"detr_tiny_hf.safetensors", "config.json"},
		{"detr_tiny.pth"},
	}
	types := []fsggml.TensorType{fsggml.TensorTypeF32, fsggml.TensorTypeF16, fsggml.TensorTypeQ8_0}
	golden := filepath.Join("testdata", "convert.sha256")
	want := map[string]string{}
	if !*update {
		data, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			sum, key, _ := strings.Cut(line, "  ")
			want[key] = sum
		}
	}
	var lines []string
	for _, in := range cases {
		for _, typ := range types {
			key := typ.String() + " " + strings.Join(in, " ")
			inputs := make([]string, len(in))
			for i, f := range in {
				inputs[i] = filepath.Join("testdata", f)
			}
			out := filepath.Join(t.TempDir(), "d.gguf")
			if err := bindings.ConvertFiles(Arch, inputs, typ, out); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.Sum256(data)
			got := hex.EncodeToString(h[:])
			lines = append(lines, got+"  "+key)
			if !*update && want[key] != got {
				t.Errorf("%s: sha256 %s, want %s", key, got, want[key])
			}
		}
	}
	if *update {
		if err := os.WriteFile(golden, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(want) > 0 && len(want) != len(lines) {
		t.Errorf("%s has %d entries, the test makes %d", golden, len(want), len(lines))
	}
}

// TestConvertMaterialized: Convert (every tensor read at once) gives the
// values ConvertStream's sources give, including the q/k/v thirds of the
// in_proj tensors.
func TestConvertMaterialized(t *testing.T) {
	inputs := []string{"testdata/detr_tiny.pth", "testdata/config.json"}
	_, values, err := Convert(inputs)
	if err != nil {
		t.Fatal(err)
	}
	_, sources, release, err := ConvertStream(inputs)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if len(values) != len(sources) {
		t.Fatalf("%d values, %d sources", len(values), len(sources))
	}
	for name, src := range sources {
		v, err := src.Read()
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(v) != fmt.Sprint(values[name]) {
			t.Errorf("%s differs", name)
		}
	}
	q, k := values["encoder.layers.0.self_attn.q_proj.weight"], values["encoder.layers.0.self_attn.k_proj.weight"]
	if len(q) == 0 || fmt.Sprint(q) == fmt.Sprint(k) {
		t.Error("q and k thirds of the in_proj are empty or equal")
	}
}
