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

// Decoder is a layered normalized min-sum decoder for one code. Each base row
// is one layer: its Z checks touch disjoint variables, so a layer is updated
// as Z-wide vectors. Memory layout: a posterior LLR per variable (app) and
// one check-to-variable message per edge, stored block by block, Z
// contiguous float32 each, so that every inner loop walks contiguous memory
// (a cyclic shift is two contiguous segments). Decode allocates nothing.
// A Decoder is not safe for concurrent use; make one per goroutine.
type Decoder struct {
	Code      *LDPC
	MaxIter   int     // iterations at most (≥ 1)
	EarlyExit bool    // stop as soon as H·ĉ = 0
	Alpha     float32 // normalization factor, DefaultAlpha unless changed

	app        []float32 // N posterior LLRs
	msg        []float32 // edges·Z check-to-variable messages
	t          []float32 // maxDeg·Z variable-to-check messages of one layer
	min1, min2 []float32 // Z: smallest and second smallest |t| per check
	arg        []uint8   // Z: block index of min1
	sgn        []uint32  // Z: XOR of the sign bits of t per check
	layerOff   []int     // offset of each layer's messages in msg
}

// NewDecoder returns a decoder with the given iteration limit.
func (c *LDPC) NewDecoder(maxIter int, earlyExit bool) *Decoder {
	if maxIter < 1 {
		panic(fmt.Sprintf("ldpc decoder: maxIter %d < 1", maxIter))
	}
	maxDeg := 0
	d := &Decoder{Code: c, MaxIter: maxIter, EarlyExit: earlyExit, Alpha: DefaultAlpha}
	off := 0
	for _, l := range c.layers {
		d.layerOff = append(d.layerOff, off)
		off += len(l) * c.Z
		maxDeg = max(maxDeg, len(l))
	}
	z := c.Z
	d.app = make([]float32, c.N)
	d.msg = make([]float32, off)
	d.t = make([]float32, maxDeg*z)
	d.min1 = make([]float32, z)
	d.min2 = make([]float32, z)
	d.arg = make([]uint8, z)
	d.sgn = make([]uint32, z)
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
		for i := range c.layers {
			d.layer(i)
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

// layer runs one layered min-sum update of base row i.
func (d *Decoder) layer(i int) {
	c := d.Code
	z := c.Z
	l := c.layers[i]
	off := d.layerOff[i]
	min1, min2, arg, sgn := d.min1[:z], d.min2[:z], d.arg[:z], d.sgn[:z]
	for r := range min1 {
		min1[r] = math.MaxFloat32
		min2[r] = math.MaxFloat32
		sgn[r] = 0
	}
	// Variable-to-check: t = app − old message, and the running minima.
	for k, e := range l {
		t := d.t[k*z : (k+1)*z]
		m := d.msg[off+k*z : off+(k+1)*z]
		a := d.app[e.col*z : (e.col+1)*z]
		n1 := z - e.shift // check r reads variable (r+shift) mod z
		gather(t[:n1], a[e.shift:], m[:n1], min1[:n1], min2[:n1], arg[:n1], sgn[:n1], uint8(k))
		gather(t[n1:], a[:e.shift], m[n1:], min1[n1:], min2[n1:], arg[n1:], sgn[n1:], uint8(k))
	}
	alpha := d.Alpha
	for r := range min1 {
		min1[r] *= alpha
		min2[r] *= alpha
	}
	// Check-to-variable: new message and posterior.
	for k, e := range l {
		t := d.t[k*z : (k+1)*z]
		m := d.msg[off+k*z : off+(k+1)*z]
		a := d.app[e.col*z : (e.col+1)*z]
		n1 := z - e.shift
		scatter(t[:n1], a[e.shift:], m[:n1], min1[:n1], min2[:n1], arg[:n1], sgn[:n1], uint8(k))
		scatter(t[n1:], a[:e.shift], m[n1:], min1[n1:], min2[n1:], arg[n1:], sgn[n1:], uint8(k))
	}
}

// gather computes t = a − m over one contiguous segment and folds |t| and
// sign(t) into the per-check minima and sign parity.
func gather(t, a, m, min1, min2 []float32, arg []uint8, sgn []uint32, k uint8) {
	n := len(t)
	a, m, min1, min2, arg, sgn = a[:n], m[:n], min1[:n], min2[:n], arg[:n], sgn[:n]
	for r := range t {
		v := a[r] - m[r]
		t[r] = v
		b := math.Float32bits(v)
		sgn[r] ^= b
		mag := math.Float32frombits(b &^ signMask)
		if mag < min1[r] {
			min2[r] = min1[r]
			min1[r] = mag
			arg[r] = k
		} else if mag < min2[r] {
			min2[r] = mag
		}
	}
}

// scatter writes the new check-to-variable messages of block k and adds
// them to the posteriors.
func scatter(t, a, m, min1, min2 []float32, arg []uint8, sgn []uint32, k uint8) {
	n := len(t)
	a, m, min1, min2, arg, sgn = a[:n], m[:n], min1[:n], min2[:n], arg[:n], sgn[:n]
	for r := range t {
		mag := min1[r]
		if arg[r] == k {
			mag = min2[r]
		}
		tv := t[r]
		s := (sgn[r] ^ math.Float32bits(tv)) & signMask
		nv := math.Float32frombits(math.Float32bits(mag) | s)
		m[r] = nv
		a[r] = tv + nv
	}
}

// checksOK reports whether the hard decisions of app satisfy every check.
func (d *Decoder) checksOK() bool {
	c := d.Code
	z := c.Z
	par := d.sgn[:z]
	for _, l := range c.layers {
		clear(par)
		for _, e := range l {
			a := d.app[e.col*z : (e.col+1)*z]
			n1 := z - e.shift
			xorSigns(par[:n1], a[e.shift:])
			xorSigns(par[n1:], a[:e.shift])
		}
		var acc uint32
		for _, p := range par {
			acc |= p
		}
		if acc&signMask != 0 {
			return false
		}
	}
	return true
}

func xorSigns(par []uint32, a []float32) {
	a = a[:len(par)]
	for r := range par {
		par[r] ^= math.Float32bits(a[r])
	}
}
