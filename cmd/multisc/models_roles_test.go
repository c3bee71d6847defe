package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/checkpoint"
)

// clipRoleFolder writes a CLIP image-encoder folder in a publisher's
// layout from a models/clip test tower: config.json and
// model.safetensors, with a visual_projection of width proj (none when
// proj is 0: a plain CLIPVisionModel, which these roles refuse); nested
// wraps the config as a whole CLIPModel's (openai/clip-vit-large-patch14).
func clipRoleFolder(t *testing.T, dir, tower string, proj int, nested bool) {
	t.Helper()
	sd, err := checkpoint.Load(filepath.Join("../../models/clip/testdata", tower, "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	b, err := os.ReadFile(filepath.Join("../../models/clip/testdata", tower, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	delete(sd, "visual_projection.weight")
	if proj > 0 {
		d := sd["vision_model.post_layernorm.weight"].Shape[0]
		v := make([]float32, proj*d)
		for i := range v {
			v[i] = float32(math.Cos(float64(i))) / 8
		}
		sd["visual_projection.weight"] = &checkpoint.Tensor{Shape: []int{proj, d}, Data: v}
		cfg["projection_dim"] = proj
	}
	if nested {
		cfg = map[string]any{"model_type": "clip", "projection_dim": proj, "vision_config": cfg,
			"text_config": map[string]any{"model_type": "clip_text_model", "hidden_size": 8}}
	}
	os.MkdirAll(dir, 0o755)
	out, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), sd); err != nil {
		t.Fatal(err)
	}
}

// TestModelsPullClipRoles: `models pull image-encoder embedder --from-dir`
// converts CLIPVisionModelWithProjection / CLIPModel folders into image
// encoders (no network), which list and check; a folder without a visual
// projection is refused with one line naming it.
func TestModelsPullClipRoles(t *testing.T) {
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1") // nothing listens: no network is used
	from := t.TempDir()
	clipRoleFolder(t, filepath.Join(from, "image-encoder"), "cliph_tower", 24, false)
	clipRoleFolder(t, filepath.Join(from, "embedder"), "clip_tower", 12, true)
	dir := t.TempDir()
	out, stderr, code := runCLI(t, "models", "pull", "image-encoder", "embedder", "--out", dir, "--from-dir", from, "--type", "f32")
	if code != 0 || !strings.Contains(out, "roles: image-encoder, embedder") {
		t.Fatalf("pull: %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = runCLI(t, "models", "list", dir)
	if code != 0 || !strings.Contains(out, "image-encoder.gguf") || !strings.Contains(out, "embedder.gguf") {
		t.Errorf("list: %d %s\n%s", code, stderr, out)
	}
	out, stderr, code = runCLI(t, "models", "check", dir, "--load")
	if code != 0 || !strings.Contains(out, "ok     image-encoder valid GGUF, loads on cpu") || !strings.Contains(out, "ok     embedder") {
		t.Errorf("check: %d %s\n%s", code, stderr, out)
	}

	bad := t.TempDir()
	clipRoleFolder(t, filepath.Join(bad, "embedder"), "clip_tower", 0, true)
	_, stderr, code = runCLI(t, "models", "pull", "embedder", "--out", t.TempDir(), "--from-dir", bad)
	wantPullBadInput(t, stderr, code, "role embedder", "visual_projection")
}
