package imageio

import (
	"encoding/binary"
	"image"
	"io"

	"golang.org/x/image/tiff"

	"github.com/multisc/multisc/bindings/badinput"
)

// isTIFF reports a TIFF header (either byte order).
func isTIFF(r io.ReaderAt) bool {
	var h [4]byte
	_, err := r.ReadAt(h[:], 0)
	return err == nil && (string(h[:]) == "II*\x00" || string(h[:]) == "MM\x00*")
}

// decodeTIFF decodes a TIFF through an io.ReaderAt of the file's size.
// golang.org/x/image/tiff given a plain reader (as image.Decode gives it)
// buffers everything up to each offset it reads, so a 300-byte file whose
// IFD offset is 0xffffffff made it allocate 8 GiB (found by FuzzDecode);
// reads beyond the end of a ReaderAt just fail. Tiles larger than the pixel
// limit are refused before decoding (see tiffTileSize).
func decodeTIFF(path string, r io.Seeker, ra io.ReaderAt, maxPixels int64) (image.Image, error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, badinput.Errorf("%s: %v", path, err)
	}
	sr := io.NewSectionReader(ra, 0, size)
	cfg, err := tiff.DecodeConfig(sr)
	if err != nil {
		return nil, decodeError(path, "tiff", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, badinput.Errorf("%s: tiff image has empty size %dx%d", path, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, badinput.Errorf("%s: tiff image of %dx%d pixels exceeds the limit of %d pixels (--max-pixels raises it)", path, cfg.Width, cfg.Height, maxPixels)
	}
	if tw, th := tiffTileSize(sr); tw*th > uint64(maxPixels) || tw > 1<<20 || th > 1<<20 {
		return nil, badinput.Errorf("%s: tiff tiles of %dx%d pixels exceed the limit of %d pixels", path, tw, th, maxPixels)
	}
	img, err := tiff.Decode(io.NewSectionReader(ra, 0, size))
	if err != nil {
		return nil, decodeError(path, "tiff", err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, badinput.Errorf("%s: corrupt tiff image: header says %dx%d, pixels are %dx%d", path, cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	return img, nil
}

// tiffTileSize reads, for a check, a TIFF's tile size before golang.org/x/image/tiff
// sees it. The decoder bounds each tile's decompressed data by the tile's
// declared size, not by the image's, so a 300-byte TIFF of 8x8 pixels
// declaring 2^20 x 2^20 tiles of CCITT or LZW data (a few bits per row)
// can make it allocate gigabytes (found by FuzzDecode). It returns the
// declared tile width and height (0, 0 when untiled or not a readable
// TIFF: the decoder then reports the error itself).
func tiffTileSize(r io.ReaderAt) (w, h uint64) {
	var hdr [8]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return 0, 0
	}
	var bo binary.ByteOrder
	switch string(hdr[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0, 0
	}
	off := int64(bo.Uint32(hdr[4:]))
	var cnt [2]byte
	if _, err := r.ReadAt(cnt[:], off); err != nil {
		return 0, 0
	}
	n := int(bo.Uint16(cnt[:]))
	var e [12]byte
	for i := range n {
		if _, err := r.ReadAt(e[:], off+2+int64(12*i)); err != nil {
			return w, h
		}
		tag, typ := bo.Uint16(e[0:]), bo.Uint16(e[2:])
		var v uint64
		switch typ {
		case 3: // SHORT
			v = uint64(bo.Uint16(e[8:]))
		case 4: // LONG
			v = uint64(bo.Uint32(e[8:]))
		default:
			continue
		}
		switch tag {
		case 322: // TileWidth
			w = v
		case 323: // TileLength
			h = v
		}
	}
	return w, h
}
