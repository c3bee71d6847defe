package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/pipeline/models"
)

func TestModelsSynthListCheckVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "set")
	out, stderr, code := runCLI(t, "models", "synth", "--size", "tiny", "--seed", "7", "--out", dir)
	if code != 0 {
		t.Fatalf("synth: %d %s", code, stderr)
	}
	if !strings.Contains(out, "wrote "+dir+"/models.json (9 roles") || strings.Contains(stderr, "skipped") ||
		!strings.Contains(out, "image-encoder image-encoder.gguf (clip") || !strings.Contains(out, "embedder   embedder.gguf (clip") {
		t.Errorf("synth output:\n%s\n%s", out, stderr)
	}
	out, stderr, code = runCLI(t, "models", "list", dir)
	if code != 0 || !strings.Contains(out, "captioner-mmproj.gguf") || strings.Contains(out, "missing roles") ||
		!strings.Contains(out, "image-encoder.gguf") || !strings.Contains(out, "embedder.gguf") {
		t.Errorf("list: %d %s\n%s", code, stderr, out)
	}
	out, stderr, code = runCLI(t, "models", "check", dir)
	if code != 0 || !strings.Contains(out, "ok     captioner     LM hidden size = mmproj projector output") ||
		!strings.Contains(out, "ok     generator     UNet cross-attention width = IP-Adapter cross-attention width") ||
		!strings.Contains(out, "ok     image-encoder image encoder embedding = IP-Adapter image embedding input: 24 (image-encoder.gguf clip.vision.projection_dim, ip-adapter.gguf ipadapter.image_dim)") {
		t.Errorf("check: %d %s\n%s", code, stderr, out)
	}
	out, stderr, code = runCLI(t, "models", "verify", dir)
	if code != 0 || strings.Count(out, "\nok ")+1 != 10 {
		t.Errorf("verify: %d %s\n%s", code, stderr, out)
	}

	// bad input: a damaged file, a missing role's file, a folder with no manifest
	p := filepath.Join(dir, "corrector.gguf")
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 0xff
	os.WriteFile(p, b, 0o644)
	_, stderr, code = runCLI(t, "models", "verify", dir)
	wantBadInput(t, stderr, code, "corrector.gguf", "sha256", "models pull corrector --out "+dir)

	os.WriteFile(p, b[:100], 0o644)
	_, stderr, code = runCLI(t, "models", "check", dir)
	wantBadInput(t, stderr, code, "role corrector", "corrector.gguf")

	empty := t.TempDir()
	_, stderr, code = runCLI(t, "models", "list", empty)
	wantBadInput(t, stderr, code, empty, "models.json", "multisc models pull --out "+empty)
}

func TestModelsBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"models", "pull", "painter", "--out", dir}, []string{"unknown role \"painter\"", "segmenter"}},
		{[]string{"models", "pull", "lpips"}, []string{"--out is required"}},
		{[]string{"models", "pull", "lpips", "--out", dir, "--type", "q9"}, []string{"--type"}},
		{[]string{"models", "pull", "lpips", "--out", dir, "--from-dir", filepath.Join(dir, "nope")}, []string{"--from-dir", "not a folder"}},
		{[]string{"models", "synth", "--size", "huge", "--out", dir}, []string{"--size"}},
		{[]string{"models", "check"}, []string{"one models folder"}},
		{[]string{"models", "sing"}, []string{"unknown command \"sing\""}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[1:], " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, c.args...)
			wantBadInput(t, stderr, code, c.want...)
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "models.json")); err == nil {
		t.Error("a refused pull wrote models.json")
	}
}

// fixtureHub serves the converters' tiny fixtures under the catalogue's
// URL paths (loopback only) and points the pull endpoints at it.
func fixtureHub(t *testing.T, files map[string]string) {
	t.Helper()
	byPath := map[string]string{}
	for _, e := range models.Catalogue {
		for _, s := range e.Files {
			if fx, ok := files[s.Local]; ok {
				byPath["/"+s.Path] = fx
			}
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fx, ok := byPath[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, fx)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("HF_ENDPOINT", srv.URL)
	t.Setenv("MULTISC_PYTORCH_ENDPOINT", srv.URL)
	t.Setenv("MULTISC_GITHUB_ENDPOINT", srv.URL)
	t.Setenv("HF_TOKEN", "")
}

func TestModelsPull(t *testing.T) {
	fixtureHub(t, map[string]string{
		"detector/model.safetensors":     "../../models/detr/testdata/detr_tiny_hf.safetensors",
		"detector/config.json":           "../../models/detr/testdata/config.json",
		"corrector/config.json":          "../../models/bart/testdata/bart_tiny/config.json",
		"corrector/pytorch_model.bin":    "../../models/bart/testdata/bart_tiny/pytorch_model.bin",
		"corrector/vocab.json":           "../../models/bart/testdata/bart_tiny/vocab.json",
		"corrector/merges.txt":           "../../models/bart/testdata/bart_tiny/merges.txt",
		"lpips/alexnet-owt-7be5be79.pth": "../../models/lpips/testdata/alexnet_tiny.pth",
		"lpips/alex.pth":                 "../../models/lpips/testdata/alex_tiny.pth",
	})
	dir := t.TempDir()
	out, stderr, code := runCLI(t, "models", "pull", "detector", "corrector", "--out", dir, "--type", "f16")
	if code != 0 {
		t.Fatalf("pull: %d %s", code, stderr)
	}
	if !strings.Contains(out, "roles: detector, corrector") || !strings.Contains(stderr, "overall 6/6 files") {
		t.Errorf("pull output:\n%s\n%s", out, stderr)
	}
	var m models.Manifest
	b, _ := os.ReadFile(filepath.Join(dir, "models.json"))
	if err := json.Unmarshal(b, &m); err != nil || m.Roles[models.Detector].Type != "f16" || !strings.Contains(m.Roles[models.Corrector].Source, "oliverguhr/spelling-correction-english-base") {
		t.Errorf("manifest %s (%v)", b, err)
	}
	if _, stderr, code := runCLI(t, "models", "check", dir); code != 0 {
		t.Errorf("check after pull: %s", stderr)
	}

	// the torchvision file's name carries its sha256 prefix: a tiny fixture
	// served in its place is refused, deleted, and the manifest is untouched
	// (one file at a time, in catalogue order: alex.pth, pinned by size,
	// would otherwise race it with a size mismatch)
	_, stderr, code = runCLI(t, "models", "pull", "lpips", "--out", dir, "--parallel", "1")
	wantPullBadInput(t, stderr, code, "role lpips", "alexnet-owt-7be5be79.pth", "sha256 mismatch", "7be5be79", "deleted")
	b2, _ := os.ReadFile(filepath.Join(dir, "models.json"))
	if string(b2) != string(b) {
		t.Error("a failed pull changed models.json")
	}
	// a pull that converts one role (at another type) and then fails on the
	// next leaves the first role's file as the manifest records it
	_, stderr, code = runCLI(t, "models", "pull", "detector", "lpips", "--out", dir, "--type", "f32", "--parallel", "1")
	wantPullBadInput(t, stderr, code, "role lpips", "sha256 mismatch")
	if b3, _ := os.ReadFile(filepath.Join(dir, "models.json")); string(b3) != string(b) {
		t.Error("a failed pull changed models.json")
	}
	if _, stderr, code := runCLI(t, "models", "verify", dir); code != 0 {
		t.Errorf("verify after a failed pull: %s", stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, ".staging")); err == nil {
		t.Error("staging folder left behind")
	}
}

func TestModelsPullFromDir(t *testing.T) {
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1") // nothing listens: no network is used
	from := t.TempDir()
	for local, fx := range map[string]string{
		"model.safetensors": "../../models/detr/testdata/detr_tiny_hf.safetensors",
		"config.json":       "../../models/detr/testdata/config.json",
	} {
		b, err := os.ReadFile(fx)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(from, local), b, 0o644)
	}
	dir := t.TempDir()
	_, stderr, code := runCLI(t, "models", "pull", "detector", "--out", dir, "--from-dir", from, "--type", "f32")
	if code != 0 {
		t.Fatalf("pull --from-dir: %d %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "models", "verify", dir); code != 0 {
		t.Errorf("verify: %s", stderr)
	}
	_, stderr, code = runCLI(t, "models", "pull", "segmenter", "--out", dir, "--from-dir", from)
	wantPullBadInput(t, stderr, code, "--from-dir", "role segmenter", "fcn_resnet50_coco-1167a1af.pth", "download.pytorch.org")
}

// wantPullBadInput is wantBadInput for pull, whose progress lines precede
// the one error line on stderr: the error is the last line, prefixed
// "multisc: ", and no other line is an error.
func wantPullBadInput(t *testing.T, stderr string, code int, fragments ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		if strings.HasPrefix(l, "multisc:") {
			t.Fatalf("more than one error line:\n%s", stderr)
		}
	}
	wantBadInput(t, lines[len(lines)-1]+"\n", code, append(fragments, "multisc: ")...)
}
