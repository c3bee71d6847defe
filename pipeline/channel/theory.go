package channel

import "math"

// qfunc is the Gaussian tail Q(x) = P(N(0,1) > x).
func qfunc(x float64) float64 { return 0.5 * math.Erfc(x/math.Sqrt2) }

// TheoryBER is the exact uncoded bit error rate of Gray-mapped m on the
// channel kind at Es/N0 = esn0DB with perfect CSI. It is a closed form: a
// finite sum of Q-functions (AWGN) or of their Rayleigh averages
// E_h[Q(c·√(γ|h|²))] = ½(1 − √(c²γ/(2 + c²γ))) for |h|² ~ Exp(1). It reduces
// to Q(√(2γ_b)) for BPSK and QPSK, ½(1 − √(γ/(1+γ))) for BPSK on Rayleigh,
// and to (3q₁ + 2q₃ − q₅)/4 for 16-QAM. Block fading with any coherence
// length has the same average BER as fast fading.
func TheoryBER(m *Modulation, kind Kind, esn0DB float64) float64 {
	gamma := math.Pow(10, esn0DB/10)
	// Per real dimension the noise has σ² = N0/2, so a distance k·d to a
	// decision boundary gives Q(k·d/σ) = Q(k·√(g·γ)) with g = 2d².
	g := 2 * m.d * m.d
	tail := func(k int) float64 { // P(noise > k·d), averaged over fading
		c2 := float64(k*k) * g * gamma
		if kind == Rayleigh {
			return 0.5 * (1 - math.Sqrt(c2/(2+c2)))
		}
		return qfunc(math.Sqrt(c2))
	}
	// pAbove(k) = P(noise > k·d) for any integer k (negative k allowed).
	pAbove := func(k int) float64 {
		if k < 0 {
			return 1 - tail(-k)
		}
		return tail(k)
	}
	L := len(m.levels)
	var sum float64
	for b := 0; b < m.dimBits; b++ {
		for i := range L { // transmitted level
			for j := range L { // decided level, region ((2j−L)·d, (2j−L+2)·d] in units of d around 0
				if m.labels[j][b] == m.labels[i][b] {
					continue
				}
				// Region of j relative to level i, in units of d: the level
				// sits at 2i−(L−1); the region's edges at 2j−(L−1)±1.
				lo := 2*(j-i) - 1
				hi := 2*(j-i) + 1
				p := 0.0
				switch {
				case j == 0:
					p = 1 - pAbove(hi)
				case j == L-1:
					p = pAbove(lo)
				default:
					p = pAbove(lo) - pAbove(hi)
				}
				sum += p
			}
		}
	}
	return sum / float64(L*m.dimBits)
}

// ApproxBERQAM is the standard nearest-neighbour approximation for
// Gray-mapped square M-QAM on AWGN, (4/k)(1 − 1/√M)·Q(√(3γ_s/(M−1))),
// k = log2 M. It is tight at moderate and high SNR.
func ApproxBERQAM(m *Modulation, esn0DB float64) float64 {
	gamma := math.Pow(10, esn0DB/10)
	k := float64(m.Bits)
	M := math.Exp2(k)
	return 4 / k * (1 - 1/math.Sqrt(M)) * qfunc(math.Sqrt(3*gamma/(M-1)))
}

// EbN0 converts Es/N0 to Eb/N0 (both dB) for information bits: each symbol
// carries rate·bits information bits.
func EbN0(esn0DB float64, bitsPerSymbol int, rate float64) float64 {
	return esn0DB - 10*math.Log10(rate*float64(bitsPerSymbol))
}

// EsN0 is the inverse of EbN0.
func EsN0(ebn0DB float64, bitsPerSymbol int, rate float64) float64 {
	return ebn0DB + 10*math.Log10(rate*float64(bitsPerSymbol))
}
