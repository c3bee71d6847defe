package main

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// llavaPair writes a tiny synthetic LLaVA pair and two PNG images.
func llavaPair(t *testing.T) (lm, mm string, imgs []string) {
	t.Helper()
	dir := t.TempDir()
	lm = filepath.Join(dir, "llava.gguf")
	out, stderr, code := runCLI(t, "synth", "--arch", "llava", "--size", "tiny", "--seed", "1", "--out", lm)
	if code != 0 {
		t.Fatalf("synth: %d %s", code, stderr)
	}
	mm = filepath.Join(dir, "llava-mmproj.gguf")
	if !strings.Contains(out, mm) {
		t.Fatalf("synth output %q does not name %s", out, mm)
	}
	for i, size := range []image.Point{{40, 30}, {20, 50}} {
		img := image.NewNRGBA(image.Rectangle{Max: size})
		for j := range img.Pix {
			img.Pix[j] = uint8(j*(i+2) + 3)
		}
		p := filepath.Join(dir, []string{"a.png", "b.png"}[i])
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		imgs = append(imgs, p)
	}
	return lm, mm, imgs
}

func TestCaptionCLI(t *testing.T) {
	lm, mm, imgs := llavaPair(t)
	args := append([]string{"caption", "--llm", lm, "--mmproj", mm, "--max-tokens", "3", "--device", "cpu"}, imgs...)
	out, stderr, code := runCLI(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("caption: %d %s", code, stderr)
	}
	var rows []captionRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for i, r := range rows {
		if r.Image != imgs[i] || len(r.Tokens) != 3 || r.Stop != "max_tokens" || r.PromptTokens == 0 {
			t.Errorf("row %d: %+v", i, r)
		}
	}
	// Text output: one line per image; --batch 1 gives the same greedy captions.
	out, _, code = runCLI(t, append(args, "--batch", "1")...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("text output (%d): %q", code, out)
	}
	for i, l := range lines {
		if want := imgs[i] + "\t" + rows[i].Caption; l != want {
			t.Errorf("line %d %q, want %q", i, l, want)
		}
	}
}

func TestCaptionCLIBadInput(t *testing.T) {
	lm, mm, imgs := llavaPair(t)
	base := []string{"caption", "--llm", lm, "--mmproj", mm, "--device", "cpu"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{base, []string{"at least one image"}},
		{[]string{"caption", "--mmproj", mm, imgs[0]}, []string{"--llm"}},
		{[]string{"caption", "--llm", lm, imgs[0]}, []string{"--mmproj"}},
		{append(base, "--prompt", "describe it", imgs[0]), []string{"--prompt", "<image>"}},
		{append(base, "--top-p", "0", imgs[0]), []string{"--top-p"}},
		{append(base, "--max-tokens", "0", imgs[0]), []string{"--max-tokens"}},
		{append(base, "--temperature", "-1", imgs[0]), []string{"--temperature"}},
		{append(base, lm), []string{lm, "not an image"}},
		{append(base, filepath.Join(t.TempDir(), "missing.png")), []string{"missing.png"}},
		{[]string{"caption", "--llm", mm, "--mmproj", lm, imgs[0]}, []string{mm, `"clip"`, `"qwen2"`}},
		{[]string{"caption", "--llm", lm, "--mmproj", filepath.Join(t.TempDir(), "none.gguf"), imgs[0]}, []string{"none.gguf"}},
	} {
		_, stderr, code := runCLI(t, tc.args...)
		wantBadInput(t, stderr, code, tc.want...)
	}
}

// TestConvertLLaVACLI: `convert --arch llava` writes the LM and its mmproj
// from the LLaVA fixture folders; caption reads them; --dump writes the
// prompt ids and first-token logits.
func TestConvertLLaVACLI(t *testing.T) {
	dir := t.TempDir()
	lm := filepath.Join(dir, "lm.gguf")
	out, stderr, code := runCLI(t, "convert", "--arch", "llava", "--out", lm, "../../models/llava/testdata/llava", "../../models/llava/testdata/tower")
	mm := filepath.Join(dir, "lm-mmproj.gguf")
	if code != 0 || !strings.Contains(out, mm) {
		t.Fatalf("convert: %d %q %s", code, out, stderr)
	}
	_, _, imgs := llavaPair(t)
	dump := filepath.Join(dir, "dump.json")
	_, stderr, code = runCLI(t, "caption", "--llm", lm, "--mmproj", mm, "--max-tokens", "2", "--device", "cpu", "--dump", dump, imgs[0])
	if code != 0 {
		t.Fatalf("caption: %d %s", code, stderr)
	}
	var d struct {
		PromptIDs   []int32   `json:"prompt_ids"`
		Tokens      []int32   `json:"tokens"`
		FirstLogits []float32 `json:"first_logits"`
	}
	b, err := os.ReadFile(dump)
	if err != nil || json.Unmarshal(b, &d) != nil {
		t.Fatalf("dump: %v %s", err, b)
	}
	images := 0
	for _, id := range d.PromptIDs {
		if id == -1 {
			images++
		}
	}
	if images != 16 || len(d.FirstLogits) != 275 || len(d.Tokens) != 2 {
		t.Errorf("dump: %d image positions, %d logits, tokens %v", images, len(d.FirstLogits), d.Tokens)
	}
	_, stderr, code = runCLI(t, "convert", "--arch", "llava", "--out", filepath.Join(dir, "x.gguf"), "../../models/llava/testdata/llava")
	wantBadInput(t, stderr, code, "two folders")
}
