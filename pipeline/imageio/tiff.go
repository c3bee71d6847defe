package imageio

import (
	"encoding/binary"
	"io"
)

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
