package main

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/lpips"
	"github.com/multisc/multisc/pipeline/imageio"
)

func writeTestPNG(t *testing.T, path string, w, h int, seed uint8) image.Image {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x*5) + seed, uint8(y*3) ^ seed, uint8(x+y) * seed, 255})
		}
	}
	if err := imageio.SavePNG(path, img); err != nil {
		t.Fatal(err)
	}
	return img
}

// TestMetricsLPIPS: `metrics --lpips` reports the distance of the LPIPS
// model (a tiny seeded one), 0 for identical images and the same value the
// library computes for a different pair.
func TestMetricsLPIPS(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "lpips.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "lpips", "--size", "tiny", "--seed", "5", "--out", model); code != 0 {
		t.Fatal(stderr)
	}
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	imgA := writeTestPNG(t, a, 48, 40, 1)
	imgB := writeTestPNG(t, b, 48, 40, 9)

	score := func(ref, img string) float64 {
		out, stderr, code := runCLI(t, "metrics", "--ref", ref, "--img", img, "--lpips", model, "--json", "--device", "cpu")
		if code != 0 {
			t.Fatal(stderr)
		}
		var r struct{ LPIPS *float64 }
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.LPIPS == nil {
			t.Fatalf("no lpips in %s (%v)", out, err)
		}
		return *r.LPIPS
	}
	if d := score(a, a); d != 0 {
		t.Errorf("lpips(a, a) = %v, want 0", d)
	}
	m, err := lpips.Open(model, bindings.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	want, err := m.Distance(imgA, imgB)
	if err != nil {
		t.Fatal(err)
	}
	if got := score(a, b); !(got > 0) || math.Abs(got-want) > 1e-6*want {
		t.Errorf("lpips(a, b) = %v, want %v", got, want)
	}
}

func TestMetricsLPIPSBadInput(t *testing.T) {
	dir := t.TempDir()
	alex := filepath.Join(dir, "alexnet.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "alexnet", "--size", "tiny", "--out", alex); code != 0 {
		t.Fatal(stderr)
	}
	model := filepath.Join(dir, "lpips.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "lpips", "--size", "tiny", "--out", model); code != 0 {
		t.Fatal(stderr)
	}
	a, small := filepath.Join(dir, "a.png"), filepath.Join(dir, "small.png")
	writeTestPNG(t, a, 48, 40, 1)
	writeTestPNG(t, small, 16, 16, 1)
	for _, tc := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"wrong arch", []string{"--ref", a, "--img", a, "--lpips", alex}, []string{alex, `"alexnet"`, `"lpips"`}},
		{"missing model", []string{"--ref", a, "--img", a, "--lpips", filepath.Join(dir, "none.gguf")}, []string{"none.gguf", "no such GGUF model file"}},
		{"too small", []string{"--ref", small, "--img", small, "--lpips", model}, []string{"--lpips", "32x32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"metrics", "--device", "cpu"}, tc.args...)...)
			wantBadInput(t, stderr, code, tc.fragments...)
		})
	}
}
