package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"sync"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"

	"github.com/multisc/multisc/bindings"
	"github.com/multisc/multisc/pipeline/models"
)

// The tiny synthetic models folder every system test shares (made once per
// test binary).
var (
	tinyOnce sync.Once
	tinyDir  string
	tinyErr  error
)

// TestMain removes the shared tiny set.
func TestMain(m *testing.M) {
	code := m.Run()
	if tinyDir != "" {
		os.RemoveAll(filepath.Dir(tinyDir))
	}
	os.Exit(code)
}

// tinySet returns a tiny synthetic models folder with every role.
func tinySet(t testing.TB) string {
	t.Helper()
	tinyOnce.Do(func() {
		root, err := os.MkdirTemp("", "multisc-system-")
		if err != nil {
			tinyErr = err
			return
		}
		tinyDir = filepath.Join(root, "tiny")
		tinyErr = MakeTinySet(tinyDir, "../models/clip/testdata/cliph_tower")
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyDir
}

// MakeTinySet writes `models synth --size tiny` into dir and, where the
// synth set lacks the image-encoder and embedder roles (their catalogue
// arch not yet registered), converts the ViT-H-style test tower of
// models/clip (projection 24 = the tiny IP-Adapter's image_dim) into both
// and lists them under arch clip.
func MakeTinySet(dir, tower string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	res, err := models.SynthSet(dir, "tiny", 1, "f32")
	if err != nil {
		return err
	}
	m := res.Manifest
	for _, r := range []models.Role{models.ImageEncoder, models.Embedder} {
		if _, ok := m.Roles[r]; ok {
			continue
		}
		for i := range models.Catalogue {
			if models.Catalogue[i].Role == r {
				models.Catalogue[i].Arch = "clip" // the roles' arch once registered
			}
		}
		rel := string(r) + ".gguf"
		if err := bindings.ConvertFiles("clip", []string{tower}, fsggml.TensorTypeF32, filepath.Join(dir, rel)); err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m.Roles[r] = models.RoleFiles{Arch: "clip", Type: "f32", Source: "converted " + tower,
			Files: []models.File{{Path: rel, Arch: "clip", Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])}}}
	}
	return models.WriteManifest(dir, m)
}

// testImage is a 64×48 picture with a few flat regions and an edge.
func testImage() *image.NRGBA { return testPicture(64, 48) }

// testImage512 is the same picture at 512×512.
func testImage512() image.Image { return testPicture(512, 512) }

func testPicture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	cx, cy, r := w*40/64, h*20/48, float64(w)*11/64
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{uint8(4 * x * 64 / w), uint8(5 * y * 48 / h), 90, 255}
			if dx, dy := float64(x-cx), float64(y-cy); dx*dx+dy*dy < r*r {
				c = color.NRGBA{220, 30, 40, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}
