package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/models/clip"
)

// TestSynthClipEncoderSizes: `synth --arch clip` writes the bare image
// encoders (projector "none") of the tiny sizes with the right projection
// width and activation, byte for byte the same for the same seed; the
// full sizes (vit-h, vit-l) are accepted by the size check but too big
// for a test (their shapes are asserted in pipeline/models).
func TestSynthClipEncoderSizes(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		size string
		proj uint32
		act  string
	}{
		{clip.VisionSizeTinyEncoder, clip.VisionTinyEncoderDim, "gelu"},
		{clip.VisionSizeTinyEmbedder, 16, ""},
	} {
		t.Run(c.size, func(t *testing.T) {
			var files [2][]byte
			for i := range files {
				p := filepath.Join(dir, c.size+string(rune('a'+i))+".gguf")
				out, stderr, code := runCLI(t, "synth", "--arch", "clip", "--size", c.size, "--seed", "3", "--out", p)
				if code != 0 || !strings.Contains(out, "wrote "+p+" (clip, "+c.size+", seed 3") {
					t.Fatalf("synth: %d %s %s", code, out, stderr)
				}
				files[i], _ = os.ReadFile(p)
				meta, err := bindings.Header(p)
				if err != nil {
					t.Fatal(err)
				}
				kv := meta.KV()
				if kv.String("projector_type") != clip.VisionProjectorNone || kv.Uint("vision.projection_dim") != c.proj || kv.String(clip.VisionActKey) != c.act {
					t.Errorf("projector_type %q, projection_dim %d, hidden_act %q; want none, %d, %q",
						kv.String("projector_type"), kv.Uint("vision.projection_dim"), kv.String(clip.VisionActKey), c.proj, c.act)
				}
			}
			if len(files[0]) == 0 || !bytes.Equal(files[0], files[1]) {
				t.Error("two syntheses with seed 3 differ")
			}
		})
	}
	// the help names the sizes
	out, _, _ := runCLI(t, "synth", "--help")
	for _, s := range []string{"vit-h", "vit-l", "tiny-encoder", "tiny-embedder", "image-encoder", "embedder"} {
		if !strings.Contains(out, s) {
			t.Errorf("synth --help does not mention %q", s)
		}
	}
}

func TestSynthSizeBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.gguf")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--arch", "clip", "--size", "vit-x"}, []string{"--size", "vit-x", "vit-h", "tiny-embedder"}},
		{[]string{"--arch", "lpips", "--size", "vit-h"}, []string{"--size", "vit-h"}},
		{[]string{"--arch", "llava", "--size", "vit-h"}, []string{"--size", "want tiny or full"}},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, append(append([]string{"synth"}, c.args...), "--out", out)...)
			wantBadInput(t, stderr, code, c.want...)
			if _, err := os.Stat(out); err == nil {
				t.Error("a refused synth wrote its output")
			}
		})
	}
}

// TestSynthClipVisionAlias: --arch clip-vision --size tiny is clip's
// tiny-encoder, byte for byte.
func TestSynthClipVisionAlias(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", "clip-vision", "--size", "tiny", "--seed", "2", "--out", a); code != 0 {
		t.Fatal(stderr)
	}
	if _, stderr, code := runCLI(t, "synth", "--arch", "clip", "--size", clip.VisionSizeTinyEncoder, "--seed", "2", "--out", b); code != 0 {
		t.Fatal(stderr)
	}
	x, _ := os.ReadFile(a)
	y, _ := os.ReadFile(b)
	if len(x) == 0 || !bytes.Equal(x, y) {
		t.Error("clip-vision tiny differs from clip tiny-encoder")
	}
}
