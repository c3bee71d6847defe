package channel

import (
	"encoding/binary"
	"hash/crc32"
)

// CRCBits is the length of the CRC-32 (IEEE 802.3 polynomial) that ends every
// frame, so the receiver knows whether a frame decoded cleanly.
const CRCBits = 32

// FrameBytes appends the big-endian CRC-32 of payload.
func FrameBytes(payload []byte) []byte {
	return binary.BigEndian.AppendUint32(append([]byte(nil), payload...), crc32.ChecksumIEEE(payload))
}

// UnframeBytes splits a frame from FrameBytes and reports whether its CRC
// matches; a frame shorter than the CRC never matches.
func UnframeBytes(frame []byte) (payload []byte, ok bool) {
	if len(frame) < 4 {
		return nil, false
	}
	n := len(frame) - 4
	return frame[:n], crc32.ChecksumIEEE(frame[:n]) == binary.BigEndian.Uint32(frame[n:])
}

// crcOfBits is the CRC-32 of data packed MSB first (a final partial byte
// zero-padded on the right).
func crcOfBits(data []uint8) uint32 { return crc32.ChecksumIEEE(BitsToBytes(data)) }

// appendCRCBits appends data followed by its 32 CRC bits, MSB first.
func appendCRCBits(dst, data []uint8) []uint8 {
	dst = append(dst, data...)
	c := crcOfBits(data)
	for i := 31; i >= 0; i-- {
		dst = append(dst, uint8(c>>uint(i))&1)
	}
	return dst
}

// checkCRCBits reports whether block = data ‖ CRC-32(data).
func checkCRCBits(block []uint8) bool {
	if len(block) < CRCBits {
		return false
	}
	n := len(block) - CRCBits
	var got uint32
	for _, b := range block[n:] {
		got = got<<1 | uint32(b&1)
	}
	return got == crcOfBits(block[:n])
}

// Segment splits msg into frames of exactly dataBits bits each. The rule:
// ceil(len(msg)/dataBits) frames (none for an empty message), filled in
// order, the last one padded with zero bits. The receiver knows len(msg)
// (as from a protected header) and drops the padding.
func Segment(msg []uint8, dataBits int) [][]uint8 {
	if dataBits <= 0 {
		panic("channel: Segment with dataBits <= 0")
	}
	n := (len(msg) + dataBits - 1) / dataBits
	frames := make([][]uint8, n)
	for i := range frames {
		f := make([]uint8, dataBits)
		copy(f, msg[i*dataBits:])
		frames[i] = f
	}
	return frames
}

// Reassemble is the inverse of Segment: it concatenates frames and keeps the
// first msgBits bits.
func Reassemble(frames [][]uint8, msgBits int) []uint8 {
	out := make([]uint8, 0, msgBits)
	for _, f := range frames {
		out = append(out, f...)
	}
	if len(out) < msgBits {
		panic("channel: Reassemble: frames shorter than the message")
	}
	return out[:msgBits]
}
