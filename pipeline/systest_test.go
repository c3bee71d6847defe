package pipeline

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"sync"
	"testing"

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
		tinyErr = MakeTinySet(tinyDir)
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyDir
}

// MakeTinySet writes `models synth --size tiny` (every role) into dir.
func MakeTinySet(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	res, err := models.SynthSet(dir, "tiny", 1, "f32")
	if err != nil {
		return err
	}
	for _, r := range models.Roles {
		if _, ok := res.Manifest.Roles[r]; !ok {
			return fmt.Errorf("models synth --size tiny skipped role %s: %v", r, res.Skipped[r])
		}
	}
	return nil
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
