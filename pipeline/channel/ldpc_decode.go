package channel

import (
	"fmt"
	"math"
)

// DefaultAlpha is the min-sum normalization factor. 0.75 is the usual choice
// for layered normalized min-sum on the 802.11n codes (within ~0.1 dB of
// belief propagation at rate 1/2) and is exact in binary floating point.
const DefaultAlpha = 0.75

// maxLLR bounds input LLRs so that ±Inf never enters the min-sum arithmetic
// (Inf − Inf would be NaN); it is far above any LLR that matters.
const maxLLR = 1e6

const signMask = 0x80000000

// Decoder is a layered normalized min-sum decoder for one code. Each base
// row is one layer (its Z checks touch disjoint variables); layers are
// updated in order, each check reading the freshest posteriors.
//
// Speed: messages are float32 (half the cache footprint of float64, and the
// whole state of the 1944-bit code, ~36 KiB, stays in L1/L2). Edges are laid
// out check by check: the variable indices of a check and its
// check-to-variable messages are contiguous, precomputed once, so an update
// is two short linear passes. The per-check kernel is a small function so
// that its few live values stay in registers, and it has no unpredictable
// branches: magnitudes are compared as IEEE-754 bit patterns (for
// non-negative floats the uint32 order is the float order), so min/max and
// the arg-min select compile to conditional moves, and signs are XORed bit
// patterns. Decode allocates nothing.
// A Decoder is not safe for concurrent use; make one per goroutine.
type Decoder struct {
	Code      *LDPC
	MaxIter   int     // iterations at most (≥ 1)
	EarlyExit bool    // stop as soon as H·ĉ = 0
	Alpha     float32 // normalization factor, DefaultAlpha unless changed

	app  []float32 // N posterior LLRs
	msg  []float32 // one check-to-variable message per edge, check by check
	vidx []int32   // the variable of each edge, same layout as msg
	deg  []int     // checks' degree per layer
	off  []int     // offset of each layer's first edge
	t    []float32 // variable-to-check messages of one check
}

// NewDecoder returns a decoder with the given iteration limit.
func (c *LDPC) NewDecoder(maxIter int, earlyExit bool) *Decoder {
	if maxIter < 1 {
		panic(fmt.Sprintf("ldpc decoder: maxIter %d < 1", maxIter))
	}
	d := &Decoder{Code: c, MaxIter: maxIter, EarlyExit: earlyExit, Alpha: DefaultAlpha}
	z := c.Z
	maxDeg := 0
	for _, l := range c.layers {
		d.off = append(d.off, len(d.vidx))
		d.deg = append(d.deg, len(l))
		maxDeg = max(maxDeg, len(l))
		for r := range z {
			for _, e := range l { // check r of the layer reads (r+shift) mod Z
				d.vidx = append(d.vidx, int32(e.col*z+(r+e.shift)%z))
			}
		}
	}
	d.app = make([]float32, c.N)
	d.msg = make([]float32, len(d.vidx))
	d.t = make([]float32, maxDeg)
	return d
}

// Decode decodes channel LLRs (N values, positive means bit 0) and writes the
// K hard information bits to info. It returns the iterations run and whether
// the final hard decision is a codeword.
func (d *Decoder) Decode(llr []float32, info []uint8) (iters int, ok bool) {
	c := d.Code
	if len(llr) != c.N || len(info) != c.K {
		panic(fmt.Sprintf("ldpc decode: got %d LLRs and %d info bits, want %d and %d", len(llr), len(info), c.N, c.K))
	}
	for i, v := range llr {
		d.app[i] = min(max(v, -maxLLR), maxLLR)
	}
	clear(d.msg)
	for iters = 1; iters <= d.MaxIter; iters++ {
		for i, deg := range d.deg {
			off := d.off[i]
			for r := range c.Z {
				e := off + r*deg
				checkUpdate(d.app, d.vidx[e:e+deg], d.msg[e:e+deg], d.t[:deg], d.Alpha)
			}
		}
		if d.EarlyExit && d.checksOK() {
			ok = true
			break
		}
	}
	if iters > d.MaxIter {
		iters = d.MaxIter
		ok = d.checksOK()
	}
	for i := range info {
		info[i] = uint8(math.Float32bits(d.app[i]) >> 31)
	}
	return iters, ok
}

// checkUpdate runs the min-sum update of one check: variable-to-check
// messages t = app − old message, then new messages
// α·min_{j≠k}|t_j|·Π_{j≠k} sign(t_j), added back into the posteriors.
func checkUpdate(app []float32, vi []int32, m, t []float32, alpha float32) {
	m, t = m[:len(vi)], t[:len(vi)]
	min1 := math.Float32bits(math.MaxFloat32)
	min2 := min1
	arg := 0
	var sgn uint32
	for k, v := range vi {
		x := app[v] - m[k]
		t[k] = x
		b := math.Float32bits(x)
		sgn ^= b
		mag := b &^ signMask
		if mag < min1 {
			arg = k
		}
		min2 = min(min2, max(min1, mag))
		min1 = min(min1, mag)
	}
	s1 := math.Float32bits(math.Float32frombits(min1) * alpha)
	s2 := math.Float32bits(math.Float32frombits(min2) * alpha)
	for k, v := range vi {
		mag := s1
		if k == arg {
			mag = s2
		}
		x := t[k]
		nv := math.Float32frombits(mag | (sgn^math.Float32bits(x))&signMask)
		m[k] = nv
		app[v] = x + nv
	}
}

// checksOK reports whether the hard decisions of app satisfy every check:
// the XOR of the sign bits over each check's variables must be 0.
func (d *Decoder) checksOK() bool {
	app := d.app
	for i, deg := range d.deg {
		vidx := d.vidx[d.off[i] : d.off[i]+deg*d.Code.Z]
		for e := 0; e < len(vidx); e += deg {
			var p uint32
			for _, v := range vidx[e : e+deg] {
				p ^= math.Float32bits(app[v])
			}
			if p&signMask != 0 {
				return false
			}
		}
	}
	return true
}
