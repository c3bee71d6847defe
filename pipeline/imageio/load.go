// Package imageio reads and writes the images every pipeline stage shares:
// Load decodes any supported format and reports bad input naming the file;
// SavePNG writes atomically so a crash never leaves half an image behind.
package imageio

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"strings"

	// Decoders register themselves with image.Decode.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"

	"github.com/multisc/multisc/bindings/badinput"
)

// DefaultMaxPixels bounds width×height for Load, so a forged header or a
// huge image cannot make a reader allocate gigabytes: 2^24 pixels (4096²,
// 64 MiB as 8-bit RGBA) is above every dataset image we read (VOC, COCO,
// Kodak are under 1 megapixel). LoadLimit (the CLI's --max-pixels) raises
// it up to HardMaxPixels.
const DefaultMaxPixels = 1 << 24

// HardMaxPixels is the largest limit LoadLimit accepts: 2^28 pixels
// (16384²), 1 GiB as 8-bit RGBA before any metric's working memory.
const HardMaxPixels = 1 << 28

// Formats lists the formats Load decodes.
var Formats = []string{"png", "jpeg", "gif", "bmp", "tiff", "webp"}

// Load decodes the image at path. Every failure caused by the file itself (a
// missing file, a directory, a non-image, a truncated or corrupt image) is a
// badinput error whose message names path.
func Load(path string) (image.Image, error) { return LoadLimit(path, DefaultMaxPixels) }

// LoadLimit is Load with another pixel limit (at most HardMaxPixels).
func LoadLimit(path string, maxPixels int64) (image.Image, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Decode(path, f, maxPixels)
}

// Decode decodes an image from r (path names it in errors), with the same
// checks as Load: the header is read first, and an image of more than
// maxPixels (at most HardMaxPixels) is refused before its pixels are
// allocated.
func Decode(path string, r io.ReadSeeker, maxPixels int64) (image.Image, error) {
	maxPixels = min(maxPixels, HardMaxPixels)
	if ra, ok := r.(io.ReaderAt); ok && isTIFF(ra) {
		return decodeTIFF(path, r, ra, maxPixels)
	}
	cfg, format, err := image.DecodeConfig(bufio.NewReader(r))
	if err != nil {
		return nil, decodeError(path, "", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, badinput.Errorf("%s: %s image has empty size %dx%d", path, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, badinput.Errorf("%s: %s image of %dx%d pixels exceeds the limit of %d pixels (--max-pixels raises it)", path, format, cfg.Width, cfg.Height, maxPixels)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	img, _, err := image.Decode(bufio.NewReader(r))
	if err != nil {
		return nil, decodeError(path, format, err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, badinput.Errorf("%s: corrupt %s image: header says %dx%d, pixels are %dx%d", path, format, cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	return img, nil
}

// open opens path for reading, turning the usual mistakes into bad input.
func open(path string) (*os.File, error) {
	if err := badinput.CheckFile(path, "image file"); err != nil {
		return nil, err
	}
	if st, err := os.Stat(path); err == nil && st.Size() == 0 {
		return nil, badinput.Errorf("%s: empty file, not an image", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	return f, nil
}

// decodeError words a decoder failure; format is "" when even the header was
// not recognised.
func decodeError(path, format string, err error) error {
	switch {
	case errors.Is(err, image.ErrFormat):
		return badinput.Errorf("%s: not an image (no PNG, JPEG, GIF, BMP, TIFF or WebP header)", path)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		isCutShort(err):
		if format == "" {
			return badinput.Errorf("%s: truncated image header", path)
		}
		return badinput.Errorf("%s: truncated %s image", path, format)
	case format == "":
		return badinput.Errorf("%s: corrupt image header: %v", path, err)
	default:
		return badinput.Errorf("%s: corrupt %s image: %v", path, format, err)
	}
}

// isCutShort recognises the decoders' own words for data that ends early:
// image/png reports a cut IDAT as "not enough pixel data", image/jpeg a cut
// scan as "short Huffman data".
func isCutShort(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "not enough pixel data") || strings.Contains(msg, "short Huffman data")
}
