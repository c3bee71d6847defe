package imageio

import (
	"bytes"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/multisc/multisc/bindings/badinput"
)

// fuzzMaxPixels keeps each fuzz input's allocation small (a 300-byte TIFF
// may claim 4096² pixels, which the decoder allocates before it finds the
// data missing).
const fuzzMaxPixels = 1 << 16

// FuzzDecode: any bytes either decode to an image within the pixel limit whose
// size is the header's, or give a bad-input error naming the file; never a
// panic. Seeds: one small image per format (testdata/fuzz/FuzzDecode holds
// the corpus CI runs).
func FuzzDecode(f *testing.F) {
	img := testImage(5, 3)
	var b bytes.Buffer
	png.Encode(&b, img)
	f.Add(append([]byte(nil), b.Bytes()...))
	b.Reset()
	jpeg.Encode(&b, img, nil)
	f.Add(append([]byte(nil), b.Bytes()...))
	b.Reset()
	gif.Encode(&b, img, nil)
	f.Add(append([]byte(nil), b.Bytes()...))
	b.Reset()
	bmp.Encode(&b, img)
	f.Add(append([]byte(nil), b.Bytes()...))
	b.Reset()
	tiff.Encode(&b, img, nil)
	f.Add(append([]byte(nil), b.Bytes()...))
	f.Add([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		img, err := Decode("fuzz.img", bytes.NewReader(data), fuzzMaxPixels)
		if err != nil {
			if !badinput.Is(err) || !bytes.Contains([]byte(err.Error()), []byte("fuzz.img")) {
				t.Fatalf("error %v is not a bad-input error naming the file", err)
			}
			return
		}
		s := img.Bounds().Size()
		if s.X <= 0 || s.Y <= 0 || int64(s.X)*int64(s.Y) > fuzzMaxPixels {
			t.Fatalf("decoded size %v", s)
		}
	})
}
