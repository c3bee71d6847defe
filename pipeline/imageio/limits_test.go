package imageio

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/multisc/multisc/bindings/badinput"
)

// tiffTileBomb is an 8x8 bilevel TIFF with one 2^20 x 2^20 CCITT G4 tile
// whose 40 bytes of data are all V0 codes (one bit per white row): the
// decoder would produce a megabyte per bit.
func tiffTileBomb() []byte {
	var b bytes.Buffer
	b.WriteString("II*\x00")
	binary.Write(&b, binary.LittleEndian, uint32(8))
	binary.Write(&b, binary.LittleEndian, uint16(11))
	for _, e := range [][4]uint32{
		{256, 4, 1, 8}, {257, 4, 1, 8}, {258, 3, 1, 1}, {259, 3, 1, 4}, {262, 3, 1, 0},
		{277, 3, 1, 1}, {284, 3, 1, 1}, {322, 4, 1, 1 << 20}, {323, 4, 1, 1 << 20},
		{324, 4, 1, 200}, {325, 4, 1, 40},
	} {
		binary.Write(&b, binary.LittleEndian, uint16(e[0]))
		binary.Write(&b, binary.LittleEndian, uint16(e[1]))
		binary.Write(&b, binary.LittleEndian, e[2])
		binary.Write(&b, binary.LittleEndian, e[3])
	}
	binary.Write(&b, binary.LittleEndian, uint32(0))
	for b.Len() < 200 {
		b.WriteByte(0)
	}
	b.Write(bytes.Repeat([]byte{0xff}, 40))
	return b.Bytes()
}

func TestPixelLimits(t *testing.T) {
	dir := t.TempDir()
	var pb bytes.Buffer
	png.Encode(&pb, testImage(300, 200))
	wide := filepath.Join(dir, "wide.png")
	os.WriteFile(wide, pb.Bytes(), 0o644)
	bomb := filepath.Join(dir, "bomb.tiff")
	os.WriteFile(bomb, tiffTileBomb(), 0o644)
	for _, tc := range []struct {
		name  string
		path  string
		limit int64
		want  string // "" = loads
	}{
		{"under the limit", wide, 60000, ""},
		{"over the limit", wide, 59999, "exceeds the limit of 59999 pixels (--max-pixels raises it)"},
		{"limit above the hard cap", wide, 1 << 40, ""},
		{"tiff tile bomb", bomb, DefaultMaxPixels, "tiles of 1048576x1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := LoadLimit(tc.path, tc.limit)
			if tc.want == "" {
				if err != nil || img.Bounds().Dx() != 300 {
					t.Fatalf("got %v", err)
				}
				return
			}
			if !badinput.Is(err) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("got %v, want a bad-input error naming %s and %q", err, tc.path, tc.want)
			}
		})
	}
}
