package ipadapter

import (
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/models/clip"
)

// TestPreprocessPILBicubic compares Preprocess's resize and centre crop
// with CLIPImageProcessor's, which resizes with PIL's BICUBIC (Pillow
// 9.4.0; testdata/make_resize_fixture.py writes the inputs and PIL's
// results). Preprocess uses x/image/draw's Catmull-Rom, the same cubic
// (a = −0.5) widened by the scale factor when shrinking as PIL does; PIL
// rounds to 8 bits after its horizontal pass, x/image/draw does not, so
// single pixels differ by a few levels. Tolerance, in 8-bit levels: max
// |Δ| ≤ 2 and mean |Δ| ≤ 0.35 per case (measured: max 1–2, mean 0.14–0.28).
func TestPreprocessPILBicubic(t *testing.T) {
	cases := []struct {
		name string
		size int
	}{
		{"down_wide", 24}, {"down_tall", 32}, {"up_tall", 24}, {"noise", 24},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := readPNG(t, filepath.Join("testdata", "resize", c.name+".png"))
			want := readPNG(t, filepath.Join("testdata", "resize", fmt.Sprintf("%s_S%d.png", c.name, c.size)))
			o := &clip.VisionOptions{ImageSize: c.size}
			copy(o.Mean[:], clip.VisionCLIPMean)
			copy(o.Std[:], clip.VisionCLIPStd)
			px := Preprocess(in, o)
			s := c.size
			if b := want.Bounds(); b.Dx() != s || b.Dy() != s || len(px) != 3*s*s {
				t.Fatalf("PIL result %v, Preprocess %d values, want %d×%d×3", b, len(px), s, s)
			}
			var maxD, sum float64
			for y := range s {
				for x := range s {
					r, g, b, _ := want.At(x, y).RGBA()
					for ch, w := range []uint32{r >> 8, g >> 8, b >> 8} {
						// back to the 8-bit level Preprocess normalized
						got := math.Round((float64(px[ch*s*s+y*s+x])*float64(o.Std[ch]) + float64(o.Mean[ch])) * 255)
						d := math.Abs(got - float64(w))
						maxD = max(maxD, d)
						sum += d
					}
				}
			}
			mean := sum / float64(3*s*s)
			t.Logf("%s: max|Δ| = %.2f levels, mean|Δ| = %.3f levels", c.name, maxD, mean)
			if maxD > 2 || mean > 0.35 {
				t.Errorf("max|Δ| %.2f, mean|Δ| %.3f levels; want ≤ 2 and ≤ 0.35", maxD, mean)
			}
		})
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
