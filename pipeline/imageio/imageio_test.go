package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/multisc/multisc/bindings/badinput"
)

// testImage is a small deterministic RGBA gradient.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 7), uint8(y * 11), uint8(x ^ y), 255})
		}
	}
	return img
}

// noiseImage is deterministic noise: it compresses badly, so cutting an
// encoded file in half lands in the pixel data, not the header.
func noiseImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	s := uint32(1) // xorshift seed
	for i := range img.Pix {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		img.Pix[i] = uint8(s)
	}
	return img
}

func encode(t *testing.T, enc func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := enc(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadFormats(t *testing.T) {
	dir := t.TempDir()
	img := testImage(16, 9)
	pngBytes := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, img) })
	jpgBytes := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, img, &jpeg.Options{Quality: 90}) })
	bmpBytes := encode(t, func(b *bytes.Buffer) error { return bmp.Encode(b, img) })
	tifBytes := encode(t, func(b *bytes.Buffer) error { return tiff.Encode(b, img, nil) })
	gifBytes := encode(t, func(b *bytes.Buffer) error { return gif.Encode(b, img, nil) })
	files := map[string][]byte{
		"a.png": pngBytes, "a.jpg": jpgBytes, "a.bmp": bmpBytes, "a.tif": tifBytes, "a.gif": gifBytes,
		"png-named.jpg": pngBytes, // the content decides, not the name
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Load(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Bounds() != img.Bounds() {
			t.Fatalf("%s: bounds %v, want %v", name, got.Bounds(), img.Bounds())
		}
	}
}

// TestLoadBadInput covers each bad-input class: the error must be a badinput
// error and name the file.
func TestLoadBadInput(t *testing.T) {
	dir := t.TempDir()
	img := noiseImage(128, 128)
	pngBytes := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, img) })
	jpgBytes := encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, img, nil) })
	corrupt := append([]byte(nil), pngBytes...)
	corrupt[len(corrupt)/2] ^= 0xff // breaks a chunk CRC

	tests := []struct {
		name string
		data []byte // nil: do not create the file
		dir  bool
		want string
	}{
		{name: "missing.png", want: "no such image file"},
		{name: "adir.png", dir: true, want: "is a directory"},
		{name: "empty.png", data: []byte{}, want: "empty file"},
		{name: "text.png", data: []byte("hello, not an image\n"), want: "not an image"},
		{name: "trunc.png", data: pngBytes[:len(pngBytes)/2], want: "truncated png"},
		{name: "trunc-header.png", data: pngBytes[:12], want: "truncated image header"},
		{name: "trunc.jpg", data: jpgBytes[:len(jpgBytes)/2], want: "truncated jpeg"},
		{name: "corrupt.png", data: corrupt, want: "corrupt png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if tc.dir {
				if err := os.Mkdir(p, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if tc.data != nil {
				if err := os.WriteFile(p, tc.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !badinput.Is(err) {
				t.Fatalf("error %v is not a badinput error", err)
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q should name %s and say %q", err, p, tc.want)
			}
		})
	}
}

func TestSavePNGRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.png")
	img := testImage(13, 7)
	if err := SavePNG(p, img); err != nil {
		t.Fatal(err)
	}
	got, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 7; y++ {
		for x := 0; x < 13; x++ {
			if a, b := color.NRGBAModel.Convert(got.At(x, y)), img.At(x, y); a != b {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, a, b)
			}
		}
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
}

// TestSavePNGAtomic checks that a failed save leaves the old file intact and
// no temporary file behind.
func TestSavePNGAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "keep.png")
	if err := SavePNG(p, testImage(4, 4)); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	// png.Encode rejects an empty image after the temp file exists.
	if err := SavePNG(p, image.NewNRGBA(image.Rect(0, 0, 0, 0))); err == nil {
		t.Fatal("saving an empty image succeeded")
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Fatal("failed save changed the existing file")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed save, want 1", len(entries))
	}
	// A missing directory fails before anything is written.
	if err := SavePNG(filepath.Join(dir, "nodir", "x.png"), testImage(2, 2)); err == nil {
		t.Fatal("saving into a missing directory succeeded")
	}
}
