package channel

import (
	"math"
	"math/rand/v2"
)

// analogStream separates the analog mode's PCG stream from the others.
const analogStream = 0xa7a1

// AnalogResult is the received (noisy) slice i'_m.
type AnalogResult struct {
	Received []float64 // same length as the input
	Symbols  int       // complex channel symbols used
	Scale    float64   // power normalization α, known to the receiver
	MSE      float64   // mean squared error of Received against the input
}

// SendAnalog sends a real vector (pixels of the object slice) as analog
// symbols. Consecutive pairs become one complex symbol, s_k = (x[2k] +
// j·x[2k+1])/α (an odd tail gets imaginary part 0), with α chosen so the
// mean |s|² is 1, i.e. Es = 1 exactly as in the digital mode, so the same
// SNR (Es/N0 per complex symbol) means the same noise power. The receiver
// knows α (side information), equalizes with the channel's equalizer (ZF
// y/h, or LMMSE h*y/(|h|²+N0)) and undoes α. An all-zero input is sent
// with α = 1.
func SendAnalog(x []float64, ch Channel, esn0DB float64, seed uint64) AnalogResult {
	ns := (len(x) + 1) / 2
	energy := 0.0
	for _, v := range x {
		energy += v * v
	}
	alpha := 1.0
	if energy > 0 {
		alpha = math.Sqrt(energy / float64(ns))
	}
	s := make([]complex128, ns)
	for k := range s {
		re, im := x[2*k], 0.0
		if 2*k+1 < len(x) {
			im = x[2*k+1]
		}
		s[k] = complex(re/alpha, im/alpha)
	}
	r := rand.New(rand.NewPCG(seed, analogStream))
	n0 := N0(esn0DB)
	y := make([]complex128, ns)
	h := make([]complex128, ns)
	ch.transmit(r, s, n0, y, h)
	ch.equalizeAnalog(y, h, n0, s)
	res := AnalogResult{Received: make([]float64, len(x)), Symbols: ns, Scale: alpha}
	for i := range res.Received {
		v := s[i/2]
		if i%2 == 0 {
			res.Received[i] = real(v) * alpha
		} else {
			res.Received[i] = imag(v) * alpha
		}
		e := res.Received[i] - x[i]
		res.MSE += e * e
	}
	if len(x) > 0 {
		res.MSE /= float64(len(x))
	}
	return res
}
