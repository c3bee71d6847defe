package channel

import "math/rand/v2"

// bytesStream separates SendBytes's PCG stream from the text and analog
// streams.
const bytesStream = 0xb7e5

// BytesResult is what the receiver got for a byte string (SendBytes).
type BytesResult struct {
	Data         []byte // received bytes, same length as the sent ones
	Bits         int    // payload bits (8 per byte)
	BitErrors    int    // payload bits received wrong
	Symbols      int    // channel symbols used, CRC and coding included
	Frames       int    // CRC frames (codewords when coded)
	FramesFailed int    // frames whose CRC did not match
}

// SendBytes transmits arbitrary bytes (a JPEG file, say) over the link at
// Es/N0 = esn0DB, framed exactly as SendText frames text (CRC-32 per frame,
// LDPC per frame when coded), but returns the decoded bytes as they are:
// no UTF-8 repair. The receiver knows the byte length. Empty data sends
// nothing.
func SendBytes(data []byte, l *Link, esn0DB float64, seed uint64) BytesResult {
	r := rand.New(rand.NewPCG(seed, bytesStream))
	msg := BytesToBits(data)
	f := sendFrames(r, msg, l, esn0DB)
	return BytesResult{Data: BitsToBytes(f.got), Bits: len(msg), BitErrors: CountBitErrors(f.got, msg),
		Symbols: f.symbols, Frames: f.frames, FramesFailed: f.failed}
}
