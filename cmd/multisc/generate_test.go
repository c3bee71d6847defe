package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sdTiny writes a tiny seeded SD 1.5 model and returns its path.
func sdTiny(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "sd15-tiny.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "sd15", "--size", "tiny", "--seed", "3", "--out", path); code != 0 {
		t.Fatalf("synth: %s", stderr)
	}
	return path
}

func generate(t *testing.T, args ...string) (generateReport, []byte) {
	t.Helper()
	out, stderr, code := runCLI(t, append([]string{"generate", "--json", "--device", "cpu", "--threads", "1"}, args...)...)
	if code != 0 {
		t.Fatalf("generate %v: exit %d: %s", args, code, stderr)
	}
	var r generateReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile(r.Out)
	if err != nil {
		t.Fatal(err)
	}
	return r, png
}

// TestGenerateDeterministic: the same seed gives the same PNG bytes, another
// seed another image; every sampler runs; the JSON report has one timing per
// UNet step; img2img runs ⌊steps·strength⌋ steps.
func TestGenerateDeterministic(t *testing.T) {
	dir := t.TempDir()
	model := sdTiny(t, dir)
	base := []string{"--model", model, "--prompt", "a red cat", "--negative", "blurry", "--steps", "3", "--size", "64x48"}
	r1, a := generate(t, append(base, "--seed", "5", "--out", filepath.Join(dir, "a.png"))...)
	_, b := generate(t, append(base, "--seed", "5", "--out", filepath.Join(dir, "b.png"))...)
	_, c := generate(t, append(base, "--seed", "6", "--out", filepath.Join(dir, "c.png"))...)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different PNG bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same PNG bytes")
	}
	if len(r1.UNetSteps) != 3 || r1.Width != 64 || r1.Height != 48 || r1.Device != "cpu" {
		t.Fatalf("report %+v", r1)
	}
	for _, s := range []string{"ddim", "euler", "dpmpp_2m_karras"} {
		generate(t, append(base, "--sampler", s, "--cfg", "1", "--out", filepath.Join(dir, s+".png"))...)
	}
	r, _ := generate(t, append(base, "--steps", "4", "--init", filepath.Join(dir, "a.png"), "--strength", "0.5",
		"--out", filepath.Join(dir, "i2i.png"))...)
	if len(r.UNetSteps) != 2 || r.VAEEncode <= 0 {
		t.Fatalf("img2img ran %d steps (want 2), vae encode %v s", len(r.UNetSteps), r.VAEEncode)
	}
}

// TestGenerateLongPrompt: a prompt over 77 tokens is truncated with a note
// (exit 0).
func TestGenerateLongPrompt(t *testing.T) {
	dir := t.TempDir()
	model := sdTiny(t, dir)
	_, stderr, code := runCLI(t, "generate", "--model", model, "--prompt", strings.Repeat("cat ", 90), "--steps", "1",
		"--size", "32x32", "--out", filepath.Join(dir, "x.png"), "--device", "cpu", "--threads", "1")
	if code != 0 || !strings.Contains(stderr, "prompt was truncated to 77 tokens") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}

// TestGenerateBadInput: each bad flag or file is one line, exit 2, and no
// output file.
func TestGenerateBadInput(t *testing.T) {
	dir := t.TempDir()
	model := sdTiny(t, dir)
	alex := filepath.Join(dir, "alexnet.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "alexnet", "--out", alex); code != 0 {
		t.Fatal(stderr)
	}
	notImage := filepath.Join(dir, "notimage.png")
	os.WriteFile(notImage, []byte("hello"), 0o644)
	out := filepath.Join(dir, "out.png")
	ok := []string{"--model", model, "--prompt", "a cat", "--steps", "1", "--size", "32x32", "--out", out, "--device", "cpu"}
	with := func(extra ...string) []string { return append(append([]string{"generate"}, ok...), extra...) }
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{with("--steps", "0"), []string{"--steps", "at least 1"}},
		{with("--cfg", "-1"), []string{"--cfg"}},
		{with("--init", notImage, "--strength", "1.5"), []string{"--strength", "[0, 1]"}},
		{with("--strength", "0.5"), []string{"--strength needs --init"}},
		{with("--sampler", "heun"), []string{"--sampler", "heun", "euler_a, dpmpp_2m_karras"}},
		{with("--size", "65x64"), []string{"--size", "multiples of 8"}},
		{with("--size", "big"), []string{"--size", "WIDTHxHEIGHT"}},
		{with("--model", alex), []string{alex, "architecture", "sd15"}},
		{with("--model", filepath.Join(dir, "missing.gguf")), []string{"missing.gguf"}},
		{with("--init", notImage), []string{notImage}},
		{with("--out", filepath.Join(dir, "nodir", "x.png")), []string{"--out", "does not exist"}},
		{with("--clip-skip", "0"), []string{"--clip-skip"}},
		{with("--clip-skip", "9"), []string{"clip skip 9"}},
		{[]string{"generate", "--prompt", "x", "--out", out}, []string{"--model is required"}},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		wantBadInput(t, stderr, code, tc.want...)
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v left %s behind", tc.args, out)
		}
	}
}

// ipTiny writes a tiny seeded IP-Adapter (fits sdTiny) and converts the
// CLIP ViT-H-style test encoder of models/clip; it returns both paths.
func ipTiny(t *testing.T, dir string) (adapter, encoder string) {
	t.Helper()
	adapter = filepath.Join(dir, "ip-tiny.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "ipadapter", "--size", "tiny", "--seed", "4", "--out", adapter); code != 0 {
		t.Fatalf("synth: %s", stderr)
	}
	encoder = filepath.Join(dir, "enc.gguf")
	if _, stderr, code := runCLI(t, "convert", "--arch", "clip", "--out", encoder, "../../models/clip/testdata/cliph_tower"); code != 0 {
		t.Fatalf("convert: %s", stderr)
	}
	return adapter, encoder
}

// TestGenerateIPAdapter: --ip-scale 0 gives the bytes of a run without the
// adapter, 0.6 another image; several --prompt flags in chunks mode run, and
// chunks with one caption equal the plain prompt.
func TestGenerateIPAdapter(t *testing.T) {
	dir := t.TempDir()
	model := sdTiny(t, dir)
	adapter, encoder := ipTiny(t, dir)
	slice := filepath.Join(dir, "slice.png")
	base := []string{"--model", model, "--negative", "blurry", "--steps", "2", "--size", "32x32", "--seed", "5"}
	_, plain := generate(t, append(base, "--prompt", "a red cat", "--out", slice)...)
	ip := []string{"--ip-adapter", adapter, "--image-encoder", encoder, "--ip-image", slice}
	_, zero := generate(t, append(append(base, ip...), "--prompt", "a red cat", "--ip-scale", "0", "--out", filepath.Join(dir, "z.png"))...)
	r, some := generate(t, append(append(base, ip...), "--prompt", "a red cat", "--ip-scale", "0.6", "--out", filepath.Join(dir, "s.png"))...)
	_, chunk1 := generate(t, append(base, "--prompt", "a red cat", "--text-mode", "chunks", "--out", filepath.Join(dir, "c1.png"))...)
	r2, chunks := generate(t, append(append(base, ip...), "--prompt", "a red cat", "--prompt", "the dog", "--text-mode", "chunks",
		"--out", filepath.Join(dir, "c2.png"))...)
	if !bytes.Equal(plain, zero) {
		t.Error("--ip-scale 0 differs from no adapter")
	}
	if bytes.Equal(plain, some) {
		t.Error("--ip-scale 0.6 gives the image without the adapter")
	}
	_, again := generate(t, append(base, "--prompt", "a red cat", "--out", filepath.Join(dir, "p2.png"))...)
	if !bytes.Equal(plain, again) {
		t.Error("a run after the IP-Adapter runs differs from the same run before them")
	}
	if !bytes.Equal(plain, chunk1) {
		t.Error("chunks with one caption differ from the plain prompt")
	}
	if bytes.Equal(some, chunks) {
		t.Error("two captions give the image of one")
	}
	if r.IPAdapter != adapter || r.IPScale != 0.6 || len(r2.Prompts) != 2 || r2.TextMode != "chunks" {
		t.Errorf("reports %+v / %+v", r, r2)
	}
}

// TestGenerateIPAdapterBadInput: bad IP-Adapter flags and files: one line,
// exit 2, no output file.
func TestGenerateIPAdapterBadInput(t *testing.T) {
	dir := t.TempDir()
	model := sdTiny(t, dir)
	adapter, encoder := ipTiny(t, dir)
	// The width mismatch of adapter and UNet (both widths named) is tested in
	// models/ipadapter (TestBadInput): no tiny UNet of another width exists
	// to synthesize here.
	slice := filepath.Join(dir, "slice.png")
	if _, stderr, code := runCLI(t, "generate", "--model", model, "--prompt", "x", "--steps", "1", "--size", "32x32",
		"--out", slice, "--device", "cpu", "--threads", "1"); code != 0 {
		t.Fatal(stderr)
	}
	notImage := filepath.Join(dir, "notimage.png")
	os.WriteFile(notImage, []byte("hello"), 0o644)
	out := filepath.Join(dir, "out.png")
	ok := []string{"--model", model, "--prompt", "a cat", "--steps", "1", "--size", "32x32", "--out", out, "--device", "cpu"}
	ip := func(a, e, img string) []string {
		return []string{"--ip-adapter", a, "--image-encoder", e, "--ip-image", img}
	}
	with := func(extra ...string) []string { return append(append([]string{"generate"}, ok...), extra...) }
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{with(append(ip(adapter, encoder, slice), "--ip-scale", "-0.5")...), []string{"--ip-scale", "≥ 0"}},
		{with("--ip-adapter", adapter), []string{"--ip-adapter, --image-encoder and --ip-image go together"}},
		{with("--ip-scale", "0.5"), []string{"--ip-scale needs --ip-adapter"}},
		{with(ip(adapter, encoder, notImage)...), []string{notImage}},
		{with(ip(adapter, encoder, filepath.Join(dir, "missing.png"))...), []string{"missing.png"}},
		{with(ip(encoder, encoder, slice)...), []string{encoder, "architecture", "ipadapter"}},
		{with(ip(adapter, adapter, slice)...), []string{adapter, "architecture", "clip"}},
		{with(ip(adapter, model, slice)...), []string{model, "architecture", "clip"}},
		{with("--text-mode", "zip"), []string{"--text-mode", "zip"}},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		wantBadInput(t, stderr, code, tc.want...)
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v left %s behind", tc.args, out)
		}
	}
}
