package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/pipeline/imageio"
)

func readManifest(t *testing.T, path string) splitManifest {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m splitManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSplitVerb: fusion mode writes a manifest whose blocks are files of the
// blocks' sizes; random mode tiles the image with the asked count, the same
// for the same seed.
func TestSplitVerb(t *testing.T) {
	dir := t.TempDir()
	model := synthVision(t, dir, "detr")
	a := filepath.Join(dir, "a.png")
	writeTestPNG(t, a, 64, 48, 3)
	out := filepath.Join(dir, "blocks")

	if _, stderr, code := runCLI(t, "split", a, "--out", out, "--detector", model, "--eps", "0.2",
		"--threshold", "0", "--native-size", "--min-size", "8", "--device", "cpu"); code != 0 {
		t.Fatal(stderr)
	}
	m := readManifest(t, filepath.Join(out, "a.json"))
	if m.Mode != "fusion" || len(m.Blocks) == 0 || len(m.Detections) == 0 {
		t.Fatalf("manifest %+v", m)
	}
	members := 0
	for _, b := range m.Blocks {
		img, err := imageio.Load(b.File)
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != b.XYXY[2]-b.XYXY[0] || img.Bounds().Dy() != b.XYXY[3]-b.XYXY[1] {
			t.Fatalf("block file %v for box %v", img.Bounds(), b.XYXY)
		}
		members += len(b.Members)
	}
	if members > len(m.Detections) {
		t.Fatalf("%d members for %d detections", members, len(m.Detections))
	}
	if _, err := os.Stat(m.Overlay); err != nil {
		t.Fatal(err)
	}

	random := func(seed string) splitManifest {
		o := filepath.Join(dir, "r"+seed)
		if _, stderr, code := runCLI(t, "split", a, "--out", o, "--mode", "random", "--blocks", "3", "--seed", seed, "--min-size", "4"); code != 0 {
			t.Fatal(stderr)
		}
		return readManifest(t, filepath.Join(o, "a.json"))
	}
	r1, r1b := random("1"), random("1")
	if len(r1.Blocks) != 3 {
		t.Fatalf("%d random blocks, want 3", len(r1.Blocks))
	}
	area := 0
	for i, b := range r1.Blocks {
		area += (b.XYXY[2] - b.XYXY[0]) * (b.XYXY[3] - b.XYXY[1])
		if b.XYXY != r1b.Blocks[i].XYXY {
			t.Fatal("same seed, different blocks")
		}
	}
	if area != 64*48 {
		t.Fatalf("random blocks cover %d pixels, want %d", area, 64*48)
	}
}

func TestSplitBadInput(t *testing.T) {
	dir := t.TempDir()
	model := synthVision(t, dir, "detr")
	a := filepath.Join(dir, "a.png")
	writeTestPNG(t, a, 48, 40, 1)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	b := filepath.Join(sub, "a.png") // same name as a
	writeTestPNG(t, b, 48, 40, 2)
	cut := filepath.Join(dir, "cut.png")
	data, _ := os.ReadFile(a)
	os.WriteFile(cut, data[:40], 0o644)
	file := filepath.Join(dir, "file.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"eps zero", []string{a, "--out", out, "--detector", model, "--eps", "0"}, []string{"--eps"}},
		{"eps negative", []string{a, "--out", out, "--detector", model, "--eps", "-1"}, []string{"--eps"}},
		{"blocks zero", []string{a, "--out", out, "--mode", "random", "--blocks", "0"}, []string{"--blocks"}},
		{"no detector", []string{a, "--out", out}, []string{"--detector"}},
		{"bad mode", []string{a, "--out", out, "--mode", "grid"}, []string{"--mode"}},
		{"no out", []string{a, "--mode", "random"}, []string{"--out"}},
		{"out is a file", []string{a, "--out", file, "--mode", "random"}, []string{"--out", file}},
		{"same names", []string{a, b, "--out", out, "--mode", "random"}, []string{"same"}},
		{"truncated image", []string{a, cut, "--out", out, "--mode", "random"}, []string{cut}},
		{"negative min size", []string{a, "--out", out, "--mode", "random", "--min-size", "-2"}, []string{"--min-size"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"split", "--device", "cpu"}, tc.args...)...)
			wantBadInput(t, stderr, code, tc.fragments...)
			if _, err := os.Stat(out); err == nil {
				t.Fatal("output folder made despite bad input")
			}
		})
	}
}
