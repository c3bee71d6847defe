package main

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"github.com/multisc/multisc/pipeline/imageio"
)

func synthVision(t *testing.T, dir, arch string) string {
	t.Helper()
	path := filepath.Join(dir, arch+".gguf")
	if _, stderr, code := runCLI(t, "synth", "--arch", arch, "--size", "tiny", "--seed", "4", "--out", path); code != 0 {
		t.Fatal(stderr)
	}
	return path
}

// TestSegmentVerb: two images in one call write a mask per image with the
// image's size whose pixel counts match the JSON, and a slice exactly when
// a main object is reported.
func TestSegmentVerb(t *testing.T) {
	dir := t.TempDir()
	model := synthVision(t, dir, "fcn")
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writeTestPNG(t, a, 48, 40, 1)
	writeTestPNG(t, b, 33, 51, 7)
	out, stderr, code := runCLI(t, "segment", a, b, "--model", model, "--device", "cpu", "--json",
		"--out", filepath.Join(dir, "{}_mask.png"), "--overlay", filepath.Join(dir, "{}_ov.png"), "--slice", filepath.Join(dir, "{}_slice.png"))
	if code != 0 {
		t.Fatal(stderr)
	}
	var reports []segmentReport
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 2 {
		t.Fatalf("json %s (%v)", out, err)
	}
	for _, r := range reports {
		mask, err := imageio.Load(r.Mask)
		if err != nil {
			t.Fatal(err)
		}
		if mask.Bounds().Dx() != r.Width || mask.Bounds().Dy() != r.Height {
			t.Fatalf("%s: mask %v for a %dx%d image", r.Image, mask.Bounds(), r.Width, r.Height)
		}
		pm := mask.(*image.Paletted)
		counts := map[int]int{}
		for _, p := range pm.Pix {
			counts[int(p)]++
		}
		for _, c := range r.Classes {
			if counts[c.Class] != c.Pixels {
				t.Fatalf("%s: class %d has %d pixels in the mask, JSON says %d", r.Image, c.Class, counts[c.Class], c.Pixels)
			}
		}
		if _, err := os.Stat(r.Overlay); err != nil {
			t.Fatal(err)
		}
		slice := filepath.Join(dir, visionName("{}_slice.png", r.Image))
		_, err = os.Stat(slice)
		if r.Object.Found != (err == nil) || r.Object.Found != (r.Slice == slice) {
			t.Fatalf("%s: found=%v but slice file stat err %v (slice %q)", r.Image, r.Object.Found, err, r.Slice)
		}
		if r.Object.Found {
			s, err := imageio.Load(slice)
			if err != nil {
				t.Fatal(err)
			}
			bx := r.Object.BoxXYXY
			if s.Bounds().Dx() != bx[2]-bx[0] || s.Bounds().Dy() != bx[3]-bx[1] {
				t.Fatalf("slice %v for box %v", s.Bounds(), bx)
			}
		}
	}
}

func TestSegmentBadInput(t *testing.T) {
	dir := t.TempDir()
	model := synthVision(t, dir, "fcn")
	other := synthVision(t, dir, "resnet")
	a, b := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
	writeTestPNG(t, a, 48, 40, 1)
	writeTestPNG(t, b, 20, 20, 1)
	notImage := filepath.Join(dir, "notes.png")
	os.WriteFile(notImage, []byte("hello, not a picture"), 0o644)
	data, _ := os.ReadFile(a)
	cut := filepath.Join(dir, "cut.png")
	os.WriteFile(cut, data[:len(data)/2], 0o644)
	huge := filepath.Join(dir, "huge.png")
	os.WriteFile(huge, hugePNGHeader(100000, 100000), 0o644)
	mask := filepath.Join(dir, "mask.png")
	for _, tc := range []struct {
		name      string
		args      []string
		fragments []string
	}{
		{"no model", []string{a, "--out", mask}, []string{"--model"}},
		{"no image", []string{"--model", model}, []string{"image"}},
		{"not an image", []string{notImage, "--model", model, "--out", mask}, []string{notImage}},
		{"truncated png", []string{cut, "--model", model, "--out", mask}, []string{cut}},
		{"header over the pixel limit", []string{huge, "--model", model, "--out", mask}, []string{huge}},
		{"bad image after a good one", []string{a, notImage, "--model", model, "--out", filepath.Join(dir, "{}.m.png")}, []string{notImage}},
		{"other arch", []string{a, "--model", other, "--out", mask}, []string{other, "fcn"}},
		{"several images, no {}", []string{a, b, "--model", model, "--out", mask}, []string{"--out", "{}"}},
		{"missing folder", []string{a, "--model", model, "--out", filepath.Join(dir, "nope", "m.png")}, []string{"--out", "does not exist"}},
		{"bad resize", []string{a, "--model", model, "--out", mask, "--resize", "-3"}, []string{"--resize"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, append([]string{"segment", "--device", "cpu"}, tc.args...)...)
			wantBadInput(t, stderr, code, tc.fragments...)
			for _, f := range []string{mask, filepath.Join(dir, "a.m.png")} {
				if _, err := os.Stat(f); err == nil {
					t.Fatalf("%s written despite bad input", f)
				}
			}
		})
	}
}

// TestSegmentImageKinds: 16-bit grayscale, paletted and translucent images
// are handled (converted to RGB), not rejected.
func TestSegmentImageKinds(t *testing.T) {
	dir := t.TempDir()
	model := synthVision(t, dir, "fcn")
	gray := image.NewGray16(image.Rect(0, 0, 30, 20))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	alpha := image.NewNRGBA(image.Rect(0, 0, 25, 25))
	for i := range alpha.Pix {
		alpha.Pix[i] = uint8(i * 3)
	}
	pal := image.NewPaletted(image.Rect(0, 0, 17, 9), color.Palette{color.Black, color.White, color.RGBA{200, 10, 10, 255}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 3)
	}
	for name, img := range map[string]image.Image{"gray16": gray, "alpha": alpha, "paletted": pal} {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join(dir, name+".png")
			if err := imageio.SavePNG(in, img); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, name+"_mask.png")
			if _, stderr, code := runCLI(t, "segment", in, "--model", model, "--device", "cpu", "--out", out); code != 0 {
				t.Fatal(stderr)
			}
			m, err := imageio.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			if m.Bounds().Size() != img.Bounds().Size() {
				t.Fatalf("mask %v for image %v", m.Bounds(), img.Bounds())
			}
		})
	}
}

// hugePNGHeader is a PNG signature and IHDR chunk claiming w×h RGB pixels,
// with no image data: a reader must refuse it from the header alone.
func hugePNGHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, uint32(len(ihdr)))
	out = append(out, chunk...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
}
