package main

import (
	"encoding/json"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/detr"
	"github.com/multisc/multisc/pipeline/imageio"
)

// TestDetectVerb: the JSON of two images equals what the library's Detect
// gives (a tiny seeded DETR at threshold 0 keeps every query), and the
// drawn images are written.
func TestDetectVerb(t *testing.T) {
	dir := t.TempDir()
	model := synthVision(t, dir, "detr")
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	imgA := writeTestPNG(t, a, 48, 40, 1)
	writeTestPNG(t, b, 33, 51, 7)
	out, stderr, code := runCLI(t, "detect", a, b, "--model", model, "--device", "cpu", "--json",
		"--threshold", "0", "--native-size", "--draw", filepath.Join(dir, "{}_boxes.png"))
	if code != 0 {
		t.Fatal(stderr)
	}
	var reports []detectReport
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 2 {
		t.Fatalf("json %s (%v)", out, err)
	}
	if n := len(reports[0].Detections); n != detr.TinyShape.Queries {
		t.Fatalf("%d detections at threshold 0, want every query (%d)", n, detr.TinyShape.Queries)
	}
	l, err := bindings.Open(model, bindings.Options{Arch: detr.Arch, Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want, err := l.Model.(*detr.Model).Detect([]image.Image{imgA}, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want[0])
	gotJSON, _ := json.Marshal(reports[0].Detections)
	if string(wantJSON) != string(gotJSON) {
		t.Fatalf("CLI detections differ from the library's:\n%s\n%s", gotJSON, wantJSON)
	}
	for _, r := range reports {
		img, err := imageio.Load(r.Drawn)
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != r.Width || img.Bounds().Dy() != r.Height {
			t.Fatalf("drawn image %v", img.Bounds())
		}
	}
	for i := 1; i < len(reports[0].Detections); i++ {
		if reports[0].Detections[i].Score > reports[0].Detections[i-1].Score {
			t.Fatal("detections not sorted by score")
		}
	}
}

func TestDetectBadInput(t *testing.T) {
	dir := t.TempDir()
	model := synthVision(t, dir, "detr")
	fcn := synthVision(t, dir, "fcn")
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writeTestPNG(t, a, 48, 40, 1)
	writeTestPNG(t, b, 20, 20, 1)
	notImage := filepath.Join(dir, "x.jpg")
	os.WriteFile(notImage, []byte("GIF89a but not really"), 0o644)
	drawn := filepath.Join(dir, "d.png")
	for _, tc := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"no model", []string{a}, []string{"--model"}},
		{"not an image", []string{notImage, "--model", model, "--draw", drawn}, []string{notImage}},
		{"fcn as detector", []string{a, "--model", fcn, "--draw", drawn}, []string{fcn, "detr"}},
		{"threshold 1", []string{a, "--model", model, "--threshold", "1"}, []string{"--threshold"}},
		{"threshold negative", []string{a, "--model", model, "--threshold", "-0.1"}, []string{"--threshold"}},
		{"two images one draw name", []string{a, b, "--model", model, "--draw", drawn}, []string{"--draw", "{}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"detect", "--device", "cpu"}, tc.args...)...)
			wantBadInput(t, stderr, code, tc.fragments...)
			if _, err := os.Stat(drawn); err == nil {
				t.Fatal("output written despite bad input")
			}
		})
	}
}
