package main

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/bindings"
)

// nanModel writes a tiny LPIPS model whose lin0 weights are NaN.
func nanModel(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "nan.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "lpips", "--size", "tiny", "--out", p); code != 0 {
		t.Fatal(stderr)
	}
	meta, err := bindings.Header(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tn := range meta.Tensors().Items() {
		if tn.Name == "lin0.model.1.weight" {
			nan := binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(math.NaN())))
			for i := uint64(0); i < tn.Elements(); i++ {
				f.WriteAt(nan, int64(meta.Tensors().Offset+tn.Offset+4*i))
			}
			return p
		}
	}
	t.Fatal("no lin0 weight")
	return ""
}

// TestMetricsBounds: NaN results, pixel limits and LPIPS downscaling.
func TestMetricsBounds(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writeTestPNG(t, a, 80, 72, 1)
	writeTestPNG(t, b, 80, 72, 9)
	nan := nanModel(t, dir)
	for _, tc := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"nan lpips, json", []string{"--lpips", nan, "--json"}, []string{"--lpips", nan, "non-finite"}},
		{"nan lpips, text", []string{"--lpips", nan}, []string{"--lpips", nan, "non-finite"}},
		{"pixel limit", []string{"--max-pixels", "5000"}, []string{a, "80x72", "limit of 5000", "--max-pixels"}},
		{"pixel limit flag", []string{"--max-pixels", "0"}, []string{"--max-pixels"}},
		{"lpips pixel flag", []string{"--lpips-max-pixels", "10"}, []string{"--lpips-max-pixels"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, append([]string{"metrics", "--ref", a, "--img", b, "--device", "cpu"}, tc.args...)...)
			wantBadInput(t, stderr, code, tc.fragments...)
			if out != "" {
				t.Fatalf("printed %q on failure", out)
			}
		})
	}
	model := filepath.Join(dir, "lpips.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "lpips", "--size", "tiny", "--seed", "2", "--out", model); code != 0 {
		t.Fatal(stderr)
	}
	out, stderr, code := runCLI(t, "metrics", "--ref", a, "--img", b, "--lpips", model, "--lpips-max-pixels", "1600", "--json", "--device", "cpu")
	if code != 0 {
		t.Fatal(stderr)
	}
	var r metricsReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.LPIPS == nil {
		t.Fatalf("%s (%v)", out, err)
	}
	// 80x72 scaled by sqrt(1600/5760) keeps the aspect: 42x37.
	if r.Width != 80 || r.LPIPSWidth != 42 || r.LPIPSHeight != 37 || !(*r.LPIPS > 0) {
		t.Fatalf("size %dx%d, lpips at %dx%d = %v", r.Width, r.Height, r.LPIPSWidth, r.LPIPSHeight, *r.LPIPS)
	}
}
