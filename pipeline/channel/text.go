package channel

import (
	"math/rand/v2"
	"unicode/utf8"
)

// textStream separates the text API's PCG stream from SimulateBER's batch
// streams, so a caption and a BER run with the same seed draw different
// noise.
const textStream = 0x7e47

// TextResult is what the receiver got for one string.
type TextResult struct {
	Text          string  `json:"text"`           // received text, always valid UTF-8
	Sent          string  `json:"sent"`           // the transmitted text
	Bits          int     `json:"bits"`           // payload bits (8 per byte of Sent)
	BitErrors     int     `json:"bit_errors"`     // payload bits received wrong
	Symbols       int     `json:"symbols"`        // channel symbols used, CRC and coding included
	Frames        int     `json:"frames"`         // CRC frames (codewords when coded)
	FramesFailed  int     `json:"frames_failed"`  // frames whose CRC did not match
	RepairedBytes int     `json:"repaired_bytes"` // invalid UTF-8 bytes replaced by U+FFFD
	EsN0dB        float64 `json:"esn0_db"`
	EbN0dB        float64 `json:"ebn0_db"` // per payload bit, CRC overhead not counted
}

// FrameDataBits is the number of payload bits per frame on the link: the
// code's K (or 1944 bits uncoded) less the 32 CRC bits.
func (l *Link) FrameDataBits() int {
	if l.Code != nil {
		return l.Code.K - CRCBits
	}
	return uncodedBlock - CRCBits
}

// SendText transmits s over the link at Es/N0 = esn0DB. The UTF-8 bytes are
// segmented by Segment into frames of FrameDataBits bits (last one
// zero-padded); each frame gets a CRC-32, is LDPC-encoded (and interleaved)
// into one codeword, and all codewords are sent back to back as one symbol
// stream (zero bits pad the last symbol; Rayleigh blocks start at symbol 0).
// The receiver knows the byte length. Decoded bytes go through RepairUTF8.
// Empty text sends nothing and comes back empty.
func SendText(s string, l *Link, esn0DB float64, seed uint64) TextResult {
	r := rand.New(rand.NewPCG(seed, textStream))
	msg := TextToBits(s)
	f := sendFrames(r, msg, l, esn0DB)
	text, repaired := RepairUTF8(BitsToBytes(f.got))
	return TextResult{
		Text:          text,
		Sent:          s,
		Bits:          len(msg),
		BitErrors:     CountBitErrors(f.got, msg),
		Symbols:       f.symbols,
		Frames:        f.frames,
		FramesFailed:  f.failed,
		RepairedBytes: repaired,
		EsN0dB:        esn0DB,
		EbN0dB:        EbN0(esn0DB, l.Mod.Bits, l.Rate()),
	}
}

// framesResult is what sendFrames received.
type framesResult struct {
	got                     []uint8 // the received message bits, len(msg)
	symbols, frames, failed int
}

// sendFrames is the framing shared by SendText and SendBytes: msg is
// segmented into frames of FrameDataBits bits (last one zero-padded); each
// frame gets a CRC-32, is LDPC-encoded (and interleaved) into one codeword,
// and all codewords go back to back as one symbol stream drawn from r.
func sendFrames(r *rand.Rand, msg []uint8, l *Link, esn0DB float64) framesResult {
	frames := Segment(msg, l.FrameDataBits())
	w := newModem(l)
	var tx []uint8
	for _, f := range frames {
		tx = w.encode(tx, appendCRCBits(nil, f))
	}
	res := framesResult{frames: len(frames)}
	if len(frames) > 0 {
		llr, ns := w.send(r, tx, N0(esn0DB))
		res.symbols = ns
		per := len(tx) / len(frames)
		block := make([]uint8, l.FrameDataBits()+CRCBits)
		for k, f := range frames {
			w.decode(llr[k*per:(k+1)*per], block)
			if !checkCRCBits(block) {
				res.failed++
			}
			copy(f, block) // reuse the frame buffer for the received data bits
		}
	}
	res.got = Reassemble(frames, len(msg))
	return res
}

// RepairUTF8 makes decoded bytes valid UTF-8 by the rule of Go's decoder:
// every byte that does not start a valid, complete, shortest-form UTF-8
// sequence is replaced by U+FFFD, one replacement per bad byte, and decoding
// resumes at the next byte. Valid sequences, control characters included,
// are kept as they are. It returns the text and the number of bytes replaced.
func RepairUTF8(b []byte) (string, int) {
	if utf8.Valid(b) {
		return string(b), 0
	}
	out := make([]byte, 0, len(b)+8)
	bad := 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
			bad++
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return string(out), bad
}
