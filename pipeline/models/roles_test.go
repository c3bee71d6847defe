package models

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/models/clip"
	"github.com/multisc/multisc/models/ipadapter"
)

// TestClipRoleSizes: the catalogue's clip roles synthesize the sizes
// models/clip defines (the catalogue spells them as strings so that this
// package does not import a model package), and the encoder sizes fit
// the IP-Adapter of the same size: tiny-encoder's projection is the tiny
// adapter's image_dim, vit-h's the full one's (1024); vit-l is CLIP
// ViT-L/14 (projection 768).
func TestClipRoleSizes(t *testing.T) {
	enc, _ := Lookup(Catalogue, ImageEncoder)
	emb, _ := Lookup(Catalogue, Embedder)
	cases := []struct {
		e                                          Entry
		size, want                                 string
		proj, hidden, layers, heads, ff, im, patch int
		gelu                                       bool
	}{
		{enc, "tiny", clip.VisionSizeTinyEncoder, ipadapter.TinyOptions().ImageDim, 32, 3, 4, 64, 56, 7, true},
		{enc, "full", clip.VisionSizeViTH, ipadapter.SD15Options().ImageDim, 1280, 32, 16, 5120, 224, 14, true},
		{emb, "tiny", clip.VisionSizeTinyEmbedder, 16, 32, 2, 4, 64, 56, 7, false},
		{emb, "full", clip.VisionSizeViTL, 768, 1024, 24, 16, 4096, 224, 14, false},
	}
	for _, c := range cases {
		t.Run(string(c.e.Role)+" "+c.size, func(t *testing.T) {
			if got := c.e.SynthSize(c.size); got != c.want {
				t.Fatalf("SynthSize(%s) = %q, want %q", c.size, got, c.want)
			}
			if c.e.ProjectorType != clip.VisionProjectorNone || c.e.Arch != clip.VisionArch {
				t.Errorf("arch %q projector %q, want %q %q", c.e.Arch, c.e.ProjectorType, clip.VisionArch, clip.VisionProjectorNone)
			}
			kv, err := clip.VisionConfig(c.want)
			if err != nil {
				t.Fatal(err)
			}
			u := func(k string) int { return int(kv[k].(uint32)) }
			got := []int{u("vision.projection_dim"), u("vision.embedding_length"), u("vision.block_count"), u("vision.attention.head_count"),
				u("vision.feed_forward_length"), u("vision.image_size"), u("vision.patch_size")}
			want := []int{c.proj, c.hidden, c.layers, c.heads, c.ff, c.im, c.patch}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("projection, hidden, layers, heads, ff, image, patch = %v, want %v", got, want)
			}
			if kv["projector_type"] != clip.VisionProjectorNone || (kv[clip.VisionActKey] == "gelu") != c.gelu {
				t.Errorf("projector_type %v, hidden_act %v (want exact GELU: %v)", kv["projector_type"], kv[clip.VisionActKey], c.gelu)
			}
			if _, ok := kv[clip.VisionMMWidthKey]; ok {
				t.Errorf("an image encoder records %s", clip.VisionMMWidthKey)
			}
		})
	}
	if got := enc.SynthSize("other"); got != "other" {
		t.Errorf("SynthSize of an unmapped size = %q", got)
	}
	if lp, _ := Lookup(Catalogue, LPIPS); lp.SynthSize("full") != "full" {
		t.Errorf("lpips SynthSize(full) = %q", lp.SynthSize("full"))
	}
}

// writeClip writes a clip file with this metadata (keys without "clip.")
// and seeded random weights.
func writeClip(t *testing.T, path string, kv fsggml.KV) {
	t.Helper()
	full := fsggml.KV{"general.architecture": clip.VisionArch}
	for k, v := range kv {
		full[clip.VisionArch+"."+k] = v
	}
	specs, err := clip.VisionTensors(full)
	if err != nil {
		t.Fatal(err)
	}
	if err := bindings.WriteFile(path, full, bindings.SynthTensors(specs, 1, fsggml.TensorTypeF32)); err != nil {
		t.Fatal(err)
	}
}

// TestCheckImageEncoder: an image encoder whose projection width is not
// the IP-Adapter's image_dim fails the width check, naming both roles and
// files; an mmproj (a LLaVA projector file) in the image-encoder or
// embedder role is refused, naming the role and file.
func TestCheckImageEncoder(t *testing.T) {
	dir := t.TempDir()
	if _, err := SynthSet(dir, "tiny", 6, "f32"); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(dir, CheckOptions{}); err != nil {
		t.Fatalf("the synthesized set: %v", err)
	}
	dim := ipadapter.TinyOptions().ImageDim
	mmproj, err := clip.VisionConfig("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, file string
		kv         fsggml.KV
		check      string // the failing finding's Check, prefix
		want       []string
	}{
		{"projection width", "image-encoder.gguf", clip.VisionEncoderConfigFor(32, 4, 2, 64, 56, 7, dim+8, true),
			"image encoder embedding = IP-Adapter",
			[]string{"image-encoder.gguf clip.vision.projection_dim = " + fmt.Sprint(dim+8), "(role image-encoder)",
				"ip-adapter.gguf ipadapter.image_dim = " + fmt.Sprint(dim), "(role ip-adapter)"}},
		{"mmproj as image encoder", "image-encoder.gguf", mmproj,
			"valid clip GGUF image-encoder.gguf", []string{"role image-encoder", "image-encoder.gguf", `projector_type is "mlp"`}},
		{"mmproj as embedder", "embedder.gguf", mmproj,
			"valid clip GGUF embedder.gguf", []string{"role embedder", "embedder.gguf", `projector_type is "mlp"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.file)
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(p, orig, 0o644)
			writeClip(t, p, c.kv)
			fs, err := Check(dir, CheckOptions{})
			if err == nil || !badinput.Is(err) {
				t.Fatalf("Check: %v, want a bad-input error", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var found bool
			for _, f := range fs {
				if strings.HasPrefix(f.Check, c.check) {
					found = f.Status == "FAIL"
				}
			}
			if !found {
				t.Errorf("no FAIL finding %q: %v", c.check, fs)
			}
		})
	}
}

// TestCatalogueHashes: the published sizes and sha256 sums in the
// catalogue are well formed, a hub path names "main" or a 40-hex commit,
// and a file that is not the published one is refused (the tiny SD
// fixture served under the pinned SD 1.5 path fails the size check and is
// deleted; no manifest is written).
func TestCatalogueHashes(t *testing.T) {
	hex := func(s string, n int) bool {
		if len(s) != n {
			return false
		}
		for _, c := range s {
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
		return true
	}
	pinned := 0
	for _, e := range Catalogue {
		for _, f := range e.Files {
			if f.SHA256 != "" && !hex(f.SHA256, 64) {
				t.Errorf("%s: sha256 %q is not 64 lower-case hex digits", f.Local, f.SHA256)
			}
			if (f.SHA256 != "") != (f.Size > 0) {
				t.Errorf("%s: sha256 %q with size %d: give both or neither", f.Local, f.SHA256, f.Size)
			}
			if f.Host == HuggingFace {
				parts := strings.SplitN(f.Path, "/", 5) // owner, repo, "resolve", revision, file
				if len(parts) != 5 || parts[2] != "resolve" || (parts[3] != "main" && !hex(parts[3], 40)) {
					t.Errorf("%s: hub path %q does not name main or a commit", f.Local, f.Path)
				}
				if parts[3] != "main" {
					pinned++
				}
			}
		}
	}
	if pinned == 0 {
		t.Error("no pinned hub revision")
	}

	h, _ := newHub(t)
	gen, _ := Lookup(Catalogue, Generator)
	src := gen.Files[0]
	if src.SHA256 == "" || !strings.Contains(src.Path, sd15Revision) {
		t.Fatalf("generator checkpoint %+v: not pinned", src)
	}
	o := h.opts(t, []Entry{gen})
	_, err := Pull(context.Background(), []Role{Generator}, o)
	if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), fmt.Sprintf("want %d", src.Size)) {
		t.Fatalf("pull of a file other than the published one: %v", err)
	}
	noManifest(t, o.Out)
	if _, err := os.Stat(filepath.Join(o.Out, DownloadDir, src.Local)); err == nil {
		t.Error("the refused file was kept")
	}
}
