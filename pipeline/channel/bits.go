package channel

// Bits are one per byte, value 0 or 1, most significant bit of each byte
// first. This keeps the simulator's inner loops simple and branch-free.

// BytesToBits unpacks b, most significant bit first.
func BytesToBits(b []byte) []uint8 { return AppendBits(make([]uint8, 0, 8*len(b)), b) }

// AppendBits appends the bits of b (MSB first) to dst.
func AppendBits(dst []uint8, b []byte) []uint8 {
	for _, v := range b {
		for i := 7; i >= 0; i-- {
			dst = append(dst, (v>>uint(i))&1)
		}
	}
	return dst
}

// BitsToBytes packs bits MSB first; a final partial byte is padded with zero
// bits on the right. Only the low bit of each element is used.
func BitsToBytes(bits []uint8) []byte {
	out := make([]byte, (len(bits)+7)/8)
	for i, b := range bits {
		out[i>>3] |= (b & 1) << (7 - uint(i&7))
	}
	return out
}

// TextToBits is BytesToBits of the UTF-8 encoding of s.
func TextToBits(s string) []uint8 { return BytesToBits([]byte(s)) }

// CountBitErrors counts positions where a and b differ (over the shorter).
func CountBitErrors(a, b []uint8) int {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	e := 0
	for i := range a {
		e += int((a[i] ^ b[i]) & 1)
	}
	return e
}
