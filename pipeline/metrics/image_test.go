package metrics

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline/imageio"
)

type imageCase struct {
	Name, Ref, Img string
	SSIM           float64
	PSNR, Cosine   *float64 // null: +Inf PSNR, undefined cosine
}

func loadPair(t *testing.T, c imageCase) (image.Image, image.Image) {
	t.Helper()
	a, err := imageio.Load(filepath.Join("testdata", c.Ref))
	if err != nil {
		t.Fatal(err)
	}
	b, err := imageio.Load(filepath.Join("testdata", c.Img))
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestImageMetricsVectors compares with scikit-image 0.19.3 / numpy 1.24.2
// (testdata/image_metrics.json from gen_image_metrics.py). Tolerances:
//   - SSIM 1e-9 absolute (the issue asks for 1e-6): both sides work in
//     float64 and differ only in summation order, ~1e-15 per window.
//   - PSNR 1e-9 dB: the MSE is exact on both sides; only log10 may differ.
//   - cosine 1e-6: the Embedder interface stores float32 vectors (7 digits).
func TestImageMetricsVectors(t *testing.T) {
	var v struct {
		Skimage string
		Cases   []imageCase
	}
	readJSON(t, "testdata/image_metrics.json", &v)
	if v.Skimage != "0.19.3" || len(v.Cases) == 0 {
		t.Fatalf("unexpected vectors: skimage %q, %d cases", v.Skimage, len(v.Cases))
	}
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			a, b := loadPair(t, c)
			ssim, err := SSIM(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(ssim-c.SSIM) > 1e-9 {
				t.Errorf("SSIM %.15f, want %.15f", ssim, c.SSIM)
			}
			psnr, err := PSNR(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if c.PSNR == nil {
				if !math.IsInf(psnr, 1) {
					t.Errorf("PSNR %g, want +Inf", psnr)
				}
			} else if math.Abs(psnr-*c.PSNR) > 1e-9 {
				t.Errorf("PSNR %.12f, want %.12f", psnr, *c.PSNR)
			}
			cos, err := Cosine(PixelEmbedder{}, a, b)
			if err != nil {
				t.Fatal(err)
			}
			if c.Cosine == nil {
				if !math.IsNaN(cos) {
					t.Errorf("cosine %g, want NaN (undefined)", cos)
				}
			} else if math.Abs(cos-*c.Cosine) > 1e-6 {
				t.Errorf("cosine %.9f, want %.9f", cos, *c.Cosine)
			}
		})
	}
}

// TestSSIMHandChecked: identical images score exactly 1, and for two
// constant images every window sees zero variance, so SSIM reduces to the
// luminance term (2ab + C1)/(a² + b² + C1).
func TestSSIMHandChecked(t *testing.T) {
	flat := func(v uint8) image.Image {
		m := image.NewGray(image.Rect(0, 0, 12, 12))
		for i := range m.Pix {
			m.Pix[i] = v
		}
		return m
	}
	a, b := flat(90), flat(120)
	c1 := (0.01 * 255) * (0.01 * 255)
	want := (2*90*120 + c1) / (90*90 + 120*120 + c1)
	got, err := SSIM(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Fatalf("SSIM of constants %.15f, want %.15f", got, want)
	}
	n := randomImage(64, 48, 1)
	if s, _ := SSIM(n, n); math.Abs(s-1) > 1e-12 {
		t.Fatalf("SSIM(x, x) = %.15f, want 1", s)
	}
	// PSNR of images differing by 1 in every sample: MSE 1, 20·log10(255).
	if p, _ := PSNR(flat(90), flat(91)); math.Abs(p-20*math.Log10(255)) > 1e-12 {
		t.Fatalf("PSNR %.12f, want %.12f", p, 20*math.Log10(255))
	}
}

// TestImageMetricsBadInput: size mismatches and too-small images are bad
// input, not panics.
func TestImageMetricsBadInput(t *testing.T) {
	big, other, small := randomImage(32, 24, 1), randomImage(24, 30, 2), randomImage(10, 40, 3)
	tests := []struct {
		name string
		f    func() error
		want string
	}{
		{"ssim size", func() error { _, err := SSIM(big, other); return err }, "sizes differ"},
		{"psnr size", func() error { _, err := PSNR(big, other); return err }, "sizes differ"},
		{"cosine size", func() error { _, err := Cosine(PixelEmbedder{}, big, other); return err }, "differ in length"},
		{"ssim too small", func() error { _, err := SSIM(small, small); return err }, "at least 11x11"},
		{"vector length", func() error { _, err := CosineVectors([]float32{1}, []float32{1, 2}); return err }, "lengths differ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f()
			if err == nil || !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a badinput error containing %q", err, tc.want)
			}
		})
	}
}

// TestPixelEmbedder checks the flattening order and the centring.
func TestPixelEmbedder(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	m.SetNRGBA(0, 0, color.NRGBA{1, 2, 3, 255})
	m.SetNRGBA(1, 0, color.NRGBA{4, 5, 6, 255})
	v, err := PixelEmbedder{}.Embed(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5}
	for i := range want {
		if v[i] != want[i] {
			t.Fatalf("embedding %v, want %v", v, want)
		}
	}
	if (PixelEmbedder{}).Name() != PixelEmbeddingName {
		t.Fatal("name")
	}
}

// randomImage is seeded noise for tests and benchmarks.
func randomImage(w, h int, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, 2004))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			m.Pix[i] = 255
		}
	}
	return m
}

// directSSIM is Wang et al.'s mean SSIM written out literally: a 2-D
// Gaussian window at every interior pixel, no separable filtering, no
// banding. It checks the fast path on sizes the vectors do not cover.
func directSSIM(ref, img image.Image) float64 {
	a, b := toPlanes(ref), toPlanes(img)
	const r = ssimRadius
	c1, c2 := math.Pow(0.01*255, 2), math.Pow(0.03*255, 2)
	total := 0.0
	for ch := range 3 {
		x, y := a.c[ch], b.c[ch]
		sum := 0.0
		for i := r; i < a.h-r; i++ {
			for j := r; j < a.w-r; j++ {
				var ux, uy, uxx, uyy, uxy float64
				for di := -r; di <= r; di++ {
					for dj := -r; dj <= r; dj++ {
						wt := ssimKernel[di+r] * ssimKernel[dj+r]
						p, q := x[(i+di)*a.w+j+dj], y[(i+di)*a.w+j+dj]
						ux, uy, uxx, uyy, uxy = ux+wt*p, uy+wt*q, uxx+wt*p*p, uyy+wt*q*q, uxy+wt*p*q
					}
				}
				vx, vy, vxy := uxx-ux*ux, uyy-uy*uy, uxy-ux*uy
				sum += (2*ux*uy + c1) * (2*vxy + c2) / ((ux*ux + uy*uy + c1) * (vx + vy + c2))
			}
		}
		total += sum / float64((a.h-2*r)*(a.w-2*r))
	}
	return total / 3
}

// TestSSIMBandedMatchesDirect: the banded, parallel SSIM equals the literal
// definition (to 1e-12; only summation order differs) for any number of
// workers, including sizes whose rows split unevenly into bands.
func TestSSIMBandedMatchesDirect(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, sz := range [][2]int{{11, 11}, {37, 90}, {64, 203}} {
		a, b := randomImage(sz[0], sz[1], 7), randomImage(sz[0], sz[1], 8)
		// Correlate b with a so SSIM is far from 0.
		for i := range b.Pix {
			b.Pix[i] = uint8((int(a.Pix[i])*3 + int(b.Pix[i])) / 4)
		}
		want := directSSIM(a, b)
		for _, procs := range []int{1, 2, 5} {
			runtime.GOMAXPROCS(procs)
			got, err := SSIM(a, b)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("%dx%d with %d workers: %.15f, direct %.15f", sz[0], sz[1], procs, got, want)
			}
		}
	}
}

// TestToPlanesFastPaths: the per-type fast paths agree with the generic
// At-based conversion (non-opaque RGBA included, JPEG's YCbCr included).
func TestToPlanesFastPaths(t *testing.T) {
	src := randomImage(13, 9, 11)
	src.Pix[3], src.Pix[7] = 128, 0 // two translucent pixels
	rgba := image.NewRGBA(src.Bounds())
	ycc := image.NewYCbCr(src.Bounds(), image.YCbCrSubsampleRatio420)
	gray := image.NewGray(src.Bounds())
	for y := 0; y < 9; y++ {
		for x := 0; x < 13; x++ {
			c := src.NRGBAAt(x, y)
			rgba.Set(x, y, c)
			gray.Set(x, y, c)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			ycc.Y[ycc.YOffset(x, y)] = yy
			ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = cb, cr
		}
	}
	for name, img := range map[string]image.Image{"nrgba": src, "rgba": rgba, "ycbcr": ycc, "gray": gray} {
		fast := toPlanes(img)
		slow := toPlanes(struct{ image.Image }{img}) // hides the type: generic path
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: fast path differs from the generic conversion", name)
		}
	}
}
