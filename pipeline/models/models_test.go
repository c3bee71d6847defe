package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/internal/loopback"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/models/clip"
	"github.com/multisc/multisc/models/ipadapter"

	_ "github.com/multisc/multisc/models/all"
)

// synthOnce caches one tiny synthetic set per test binary.
var synthDir string

func tinySet(t *testing.T) string {
	t.Helper()
	if synthDir != "" {
		return synthDir
	}
	dir, err := os.MkdirTemp("", "models-synth-")
	if err != nil {
		t.Fatal(err)
	}
	res, err := SynthSet(dir, "tiny", 1, "f32")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 0 {
		t.Errorf("skipped %v, want every role synthesized", res.Skipped)
	}
	synthDir = dir
	return dir
}

// TestMain keeps every test on the loopback: the default transport (the
// one a pull uses when PullOptions.Client is nil) refuses to dial any
// other host, and a refused dial fails the run even where a test only
// expected some error.
func TestMain(m *testing.M) {
	refused := loopback.Guard()
	code := m.Run()
	if synthDir != "" {
		os.RemoveAll(synthDir)
	}
	if r := refused(); len(r) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: tests tried to reach beyond the loopback: %v\n", r)
		code = 1
	}
	os.Exit(code)
}

func TestSynthSet(t *testing.T) {
	dir := tinySet(t)
	set, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Role][]string{
		Segmenter: {"fcn"}, Detector: {"detr"}, Captioner: {"qwen2", "clip"}, Corrector: {"bart"},
		Generator: {"sd15"}, IPAdapter: {"ipadapter"}, LPIPS: {"lpips"},
		ImageEncoder: {"clip"}, Embedder: {"clip"},
	}
	if len(set.Manifest.Roles) != len(want) {
		t.Errorf("manifest roles %v, want %v", set.Manifest.SortedRoles(), want)
	}
	for r, arches := range want {
		ps, err := set.Paths(r)
		if err != nil {
			t.Fatalf("role %s: %v", r, err)
		}
		if len(ps) != len(arches) {
			t.Fatalf("role %s: %d files, want %d", r, len(ps), len(arches))
		}
		for i, p := range ps {
			if _, err := bindings.Validate(p, arches[i]); err != nil {
				t.Errorf("role %s: %v", r, err)
			}
		}
	}
	// the clip roles are bare image encoders of their tiny sizes: the
	// encoder's projection is the tiny IP-Adapter's image_dim
	for _, c := range []struct {
		role      Role
		proj, blk int
		act       string
	}{
		{ImageEncoder, ipadapter.TinyOptions().ImageDim, 3, clip.VisionGELUErf},
		{Embedder, 16, 2, clip.VisionQuickGELU},
	} {
		p, err := set.Path(c.role)
		if err != nil {
			t.Fatal(err)
		}
		v, err := clip.OpenVision(p, bindings.Options{Device: "cpu", Threads: 1})
		if err != nil {
			t.Fatalf("role %s: %v", c.role, err)
		}
		m := v.Model
		proj := -1
		if m.Tower.Proj != nil {
			proj = m.Tower.Proj.Dim(1)
		}
		if m.ProjectorType != clip.VisionProjectorNone || proj != c.proj || m.Layers != c.blk || m.Act != c.act {
			t.Errorf("role %s: projector %q, projection %d, %d layers, act %q; want none, %d, %d, %q",
				c.role, m.ProjectorType, proj, m.Layers, m.Act, c.proj, c.blk, c.act)
		}
		v.Close()
	}
	// same seed, same bytes
	dir2 := t.TempDir()
	res2, err := SynthSet(dir2, "tiny", 1, "f32")
	if err != nil {
		t.Fatal(err)
	}
	for r, rf := range set.Manifest.Roles {
		for i, f := range rf.Files {
			if got := res2.Manifest.Roles[r].Files[i].SHA256; got != f.SHA256 {
				t.Errorf("role %s %s: sha256 differs between two syntheses with seed 1", r, f.Path)
			}
		}
	}
}

func TestMissingRole(t *testing.T) {
	set, err := Open(tinySet(t))
	if err != nil {
		t.Fatal(err)
	}
	// a role the manifest does not list
	less := t.TempDir()
	m := set.Manifest
	m.Roles = map[Role]RoleFiles{LPIPS: set.Manifest.Roles[LPIPS]}
	if err := WriteManifest(less, m); err != nil {
		t.Fatal(err)
	}
	lessSet, err := Open(less)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lessSet.Path(ImageEncoder)
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "multisc models pull image-encoder --out "+less) {
		t.Errorf("missing role: %v, want a bad-input error with the pull command", err)
	}
	// a listed file that is gone
	dir := t.TempDir()
	if _, err := SynthSet(dir, "tiny", 2, "f32"); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "segmenter.gguf"))
	set2, _ := Open(dir)
	if _, err := set2.Path(Segmenter); err == nil || !strings.Contains(err.Error(), "segmenter") || !strings.Contains(err.Error(), "models pull segmenter") {
		t.Errorf("removed file: %v", err)
	}
	// no manifest
	if _, err := Open(t.TempDir()); err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "models pull") {
		t.Errorf("no manifest: %v", err)
	}
}

func TestCheck(t *testing.T) {
	dir := tinySet(t)
	fs, err := Check(dir, CheckOptions{Load: true})
	if err != nil {
		t.Fatal(err)
	}
	var oks, widthOK, skipped int
	for _, f := range fs {
		width := strings.Contains(f.Check, " = ")
		switch {
		case f.Status == "ok" && width:
			widthOK++
		case f.Status == "ok":
			oks++
		case f.Status == "skipped" && width:
			skipped++
		default:
			t.Errorf("finding %v", f)
		}
	}
	if oks != 9 || widthOK != 3 || skipped != 0 {
		t.Errorf("findings ok=%d width=%d skipped=%d, want 9, 3, 0: %v", oks, widthOK, skipped, fs)
	}
	byCheck := map[string]Finding{}
	for _, f := range fs {
		byCheck[f.Check] = f
	}
	ip := byCheck["UNet cross-attention width = IP-Adapter cross-attention width"]
	if ip.Status != "ok" || !strings.Contains(ip.Detail, "generator.gguf sd15.unet.context_dim") || !strings.Contains(ip.Detail, "ip-adapter.gguf ipadapter.cross_dim") {
		t.Errorf("UNet/IP-Adapter width check: %v", ip)
	}
	enc := byCheck["image encoder embedding = IP-Adapter image embedding input"]
	want := fmt.Sprintf("%d (image-encoder.gguf clip.vision.projection_dim, ip-adapter.gguf ipadapter.image_dim)", ipadapter.TinyOptions().ImageDim)
	if enc.Status != "ok" || enc.Detail != want {
		t.Errorf("image encoder/IP-Adapter width check: %v, want ok %q", enc, want)
	}
}

// TestCheckIPAdapterWidthMismatch: an IP-Adapter whose cross-attention
// width is not the UNet's context width fails the check, naming both
// files.
func TestCheckIPAdapterWidthMismatch(t *testing.T) {
	dir := t.TempDir()
	if _, err := SynthSet(dir, "tiny", 5, "f32"); err != nil {
		t.Fatal(err)
	}
	unet, err := bindings.Header(filepath.Join(dir, "generator.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	ctxDim := int(unet.KV().Uint("unet.context_dim"))
	if ctxDim == 0 {
		t.Fatal("generator.gguf records no sd15.unet.context_dim")
	}
	writeIP := func(crossDim int) {
		t.Helper()
		o := ipadapter.TinyOptions()
		o.CrossDim = crossDim
		full := fsggml.KV{"general.architecture": ipadapter.Arch}
		for k, v := range o.KV() {
			full[ipadapter.Arch+"."+k] = v
		}
		specs, err := ipadapter.Tensors(full)
		if err != nil {
			t.Fatal(err)
		}
		if err := bindings.WriteFile(filepath.Join(dir, "ip-adapter.gguf"), full, bindings.SynthTensors(specs, 1, fsggml.TensorTypeF32)); err != nil {
			t.Fatal(err)
		}
	}
	writeIP(ctxDim) // the same file at the UNet's width passes
	if _, err := Check(dir, CheckOptions{}); err != nil {
		t.Fatalf("matching widths: %v", err)
	}
	for _, c := range []struct {
		name, key string
	}{
		{"metadata", "ipadapter.cross_dim"},
	} {
		t.Run(c.name, func(t *testing.T) {
			writeIP(ctxDim + 8)
			fs, err := Check(dir, CheckOptions{})
			if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "generator.gguf") || !strings.Contains(err.Error(), "ip-adapter.gguf") {
				t.Fatalf("width mismatch: %v, want an error naming both files", err)
			}
			var found bool
			for _, f := range fs {
				if strings.HasPrefix(f.Check, "UNet cross-attention width") {
					found = true
					want := fmt.Sprintf("ip-adapter.gguf %s = %d", c.key, ctxDim+8)
					if f.Status != "FAIL" || !strings.Contains(f.Detail, want) || !strings.Contains(f.Detail, fmt.Sprintf("generator.gguf sd15.unet.context_dim = %d", ctxDim)) {
						t.Errorf("finding %v, want FAIL with %q", f, want)
					}
				}
			}
			if !found {
				t.Errorf("no UNet/IP-Adapter width finding: %v", fs)
			}
		})
	}
}

// TestCheckWidthMismatch: an mmproj whose projector width is not the LM's
// hidden size is named with both files.
func TestCheckWidthMismatch(t *testing.T) {
	dir := t.TempDir()
	if _, err := SynthSet(dir, "tiny", 3, "f32"); err != nil {
		t.Fatal(err)
	}
	kv, err := clip.VisionConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	lm, err := bindings.Header(filepath.Join(dir, "captioner.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	wrong := uint32(lm.KV().Uint("embedding_length") + 8)
	kv["vision.projection_dim"] = wrong
	kv[clip.VisionMMWidthKey] = wrong
	writeClip(t, filepath.Join(dir, "captioner-mmproj.gguf"), kv)
	_, err = Check(dir, CheckOptions{})
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "captioner-mmproj.gguf") || !strings.Contains(err.Error(), "captioner.gguf") {
		t.Errorf("width mismatch: %v, want an error naming both files", err)
	}
}

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	if _, err := SynthSet(dir, "tiny", 4, "f32"); err != nil {
		t.Fatal(err)
	}
	fs, err := Verify(dir)
	if err != nil || len(fs) != 10 {
		t.Fatalf("verify: %v, %d findings (want 10 files)", err, len(fs))
	}
	// flip one byte near the end of a file
	p := filepath.Join(dir, "lpips.gguf")
	b, _ := os.ReadFile(p)
	b[len(b)-3] ^= 1
	os.WriteFile(p, b, 0o644)
	_, err = Verify(dir)
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "lpips.gguf") || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("damaged file: %v", err)
	}
}

func TestManifestBad(t *testing.T) {
	cases := map[string]string{
		"not json":     "{",
		"version":      `{"version": 9, "roles": {}}`,
		"unknown role": `{"version": 1, "roles": {"painter": {"arch": "x", "files": [{"path": "a.gguf"}]}}}`,
		"escape":       `{"version": 1, "roles": {"lpips": {"arch": "lpips", "files": [{"path": "../a.gguf"}]}}}`,
		"no files":     `{"version": 1, "roles": {"lpips": {"arch": "lpips", "files": []}}}`,
		"wrong arch":   `{"version": 1, "roles": {"segmenter": {"arch": "fcn", "files": [{"path": "a.gguf", "arch": "lpips"}]}}}`,
		"one of two":   `{"version": 1, "roles": {"captioner": {"arch": "llava", "files": [{"path": "a.gguf", "arch": "qwen2"}]}}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, ManifestName), []byte(body), 0o644)
			_, err := Open(dir)
			if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), ManifestName) {
				t.Errorf("%v, want a bad-input error naming %s", err, ManifestName)
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles {
		if got, err := ParseRole(string(r)); err != nil || got != r {
			t.Errorf("ParseRole(%s) = %v, %v", r, got, err)
		}
		if _, ok := Lookup(Catalogue, r); !ok {
			t.Errorf("role %s has no catalogue row", r)
		}
	}
	if _, err := ParseRole("painter"); err == nil || !strings.Contains(err.Error(), "segmenter") {
		t.Errorf("unknown role: %v", err)
	}
	_, err := Pull(context.Background(), []Role{"painter"}, PullOptions{Out: t.TempDir()})
	if err == nil || !badinput.Is(err) {
		t.Errorf("pull unknown role: %v", err)
	}
	// a role whose architecture is not in the binary is refused before
	// any download (TestMain's guard fails a test that dials beyond the
	// loopback)
	cat := append([]Entry(nil), Catalogue...)
	for i := range cat {
		if cat[i].Role == ImageEncoder {
			cat[i].Arch, cat[i].Issue = "clip-nope", "issue 99"
		}
	}
	_, err = Pull(context.Background(), []Role{ImageEncoder}, PullOptions{Out: t.TempDir(), Catalogue: cat})
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), "not yet convertible") || !strings.Contains(err.Error(), "issue 99") {
		t.Errorf("pull image-encoder: %v", err)
	}
	// every role of the shipped catalogue is convertible and synthesizable
	for _, e := range Catalogue {
		if !e.Convertible() || !e.Synthesizable() {
			t.Errorf("role %s (arch %s): convertible %v, synthesizable %v", e.Role, e.Arch, e.Convertible(), e.Synthesizable())
		}
	}
}
