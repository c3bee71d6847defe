package channel

import (
	"math/rand/v2"
)

// DefaultMaxIter is the LDPC iteration limit unless a link sets its own.
const DefaultMaxIter = 20

// Link is one configured transmit chain: code → interleaver → modulation →
// channel → equalizer → demapper → decoder.
type Link struct {
	Mod         *Modulation
	Code        *LDPC // nil: uncoded
	Channel     Channel
	Interleave  bool // permute the bits of each codeword (coded links only)
	MaxIter     int  // LDPC iterations; 0 means DefaultMaxIter
	NoEarlyExit bool // run all MaxIter iterations
}

// NewLink parses the CLI names of a link: modulation (bpsk, qpsk, 16qam,
// 64qam), code (none or ldpc-N-R), channel (awgn, rayleigh) with its
// coherence length, ZF equalization, no interleaver, DefaultMaxIter.
// Errors are bad-input errors naming the flag.
func NewLink(mod, code, ch string, coherence int) (*Link, error) {
	m, err := ParseModulation(mod)
	if err != nil {
		return nil, err
	}
	c, err := ParseCode(code)
	if err != nil {
		return nil, err
	}
	chn, err := ParseChannel(ch, coherence, "zf")
	if err != nil {
		return nil, err
	}
	return &Link{Mod: m, Code: c, Channel: chn}, nil
}

// Rate is the code rate (1 when uncoded).
func (l *Link) Rate() float64 {
	if l.Code == nil {
		return 1
	}
	return l.Code.Rate()
}

func (l *Link) maxIter() int {
	if l.MaxIter > 0 {
		return l.MaxIter
	}
	return DefaultMaxIter
}

// modem holds one goroutine's scratch buffers for a link.
type modem struct {
	l     *Link
	dec   *Decoder
	il    *interleaver
	x, y  []complex128
	h, z  []complex128
	gain  []float64
	pad   []uint8
	llr   []float32
	tmp   []float32
	cw    []uint8
	info  []uint8
	iters int // iterations summed over decoded codewords
}

func newModem(l *Link) *modem {
	w := &modem{l: l}
	if l.Code != nil {
		w.dec = l.Code.NewDecoder(l.maxIter(), !l.NoEarlyExit)
		w.cw = make([]uint8, l.Code.N)
		w.info = make([]uint8, l.Code.K)
		w.tmp = make([]float32, l.Code.N)
		if l.Interleave {
			w.il = newInterleaver(l.Code.N)
		}
	}
	return w
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// send modulates bits (padded with zero bits to whole symbols), passes them
// through the channel at noise power n0 and returns the LLRs of the
// len(bits) bits and the number of symbols used.
func (w *modem) send(r *rand.Rand, bits []uint8, n0 float64) ([]float32, int) {
	m := w.l.Mod
	ns := (len(bits) + m.Bits - 1) / m.Bits
	w.pad = grow(w.pad, ns*m.Bits)
	clear(w.pad[copy(w.pad, bits):])
	w.x, w.y = grow(w.x, ns), grow(w.y, ns)
	w.h, w.z = grow(w.h, ns), grow(w.z, ns)
	w.gain = grow(w.gain, ns)
	w.llr = grow(w.llr, ns*m.Bits)
	m.Map(w.pad, w.x)
	w.l.Channel.transmit(r, w.x, n0, w.y, w.h)
	equalize(w.y, w.h, w.z, w.gain)
	m.LLR(w.z, w.gain, n0, w.llr)
	return w.llr[:len(bits)], ns
}

// encode appends the transmitted (encoded, interleaved) bits of info to dst.
func (w *modem) encode(dst, info []uint8) []uint8 {
	c := w.l.Code
	if c == nil {
		return append(dst, info...)
	}
	c.Encode(info, w.cw)
	if w.il == nil {
		return append(dst, w.cw...)
	}
	n := len(dst)
	dst = append(dst, w.cw...)
	w.il.apply(w.cw, dst[n:])
	return dst
}

// decode turns the LLRs of one transmitted block into information bits.
// Uncoded: hard decisions (the LLR sign is the minimum-distance decision
// for Gray labels). Coded: deinterleave and run the LDPC decoder.
func (w *modem) decode(llr []float32, out []uint8) {
	if w.l.Code == nil {
		for i, v := range llr {
			out[i] = 0
			if v < 0 {
				out[i] = 1
			}
		}
		return
	}
	if w.il != nil {
		w.il.invertLLR(llr, w.tmp)
		llr = w.tmp
	}
	it, _ := w.dec.Decode(llr, out)
	w.iters += it
}
