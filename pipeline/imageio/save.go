package imageio

import (
	"fmt"
	"image"
	"image/png"
	"os"

	"github.com/multisc/multisc/bindings/atomicfile"
)

// SavePNG writes img to path as PNG. It encodes into a temporary file in the
// same directory and renames it over path only after a successful sync, so a
// reader (or a crash) never sees a half-written file.
func SavePNG(path string, img image.Image) error {
	return atomicfile.Write(path, 0o644, func(f *os.File) error {
		if err := png.Encode(f, img); err != nil {
			return fmt.Errorf("encode PNG: %w", err)
		}
		return nil
	})
}
