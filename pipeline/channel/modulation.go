package channel

import (
	"math"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
)

// Modulation is a Gray-mapped square constellation with unit average symbol
// energy. The bits of a symbol split into an in-phase half and a quadrature
// half (BPSK: one in-phase bit, no quadrature); each half is Gray-mapped to
// an L-level PAM amplitude, label g → level index gray⁻¹(g), amplitude
// (2·index − (L−1))·d. So bit 0 maps to −d for BPSK, and 16-QAM in-phase
// labels 00, 01, 11, 10 map to −3d, −d, +d, +3d (the 802.11 mapping).
type Modulation struct {
	Name    string
	Bits    int // bits per symbol
	dimBits int // bits per dimension
	levels  []float64
	d       float64   // half the spacing between neighbouring levels
	labels  [][]uint8 // labels[index] = Gray label bits of level index, MSB first
	complex bool      // false for BPSK (quadrature unused)
	// opp[i][b] holds the nearest levels left and right of level i whose
	// bit b differs; a side without one holds a far-away level (±1e150)
	// so the LLR loop needs no branch. Fixed-size arrays avoid indirection.
	opp    [8][3][2]float64
	labBit [8][3]uint8 // labels as a fixed-size array
}

// ModulationNames lists the accepted --mod values.
func ModulationNames() []string { return []string{"bpsk", "qpsk", "16qam", "64qam"} }

// ParseModulation parses a --mod value.
func ParseModulation(name string) (*Modulation, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "bpsk":
		return newModulation("bpsk", 1), nil
	case "qpsk", "4qam":
		return newModulation("qpsk", 2), nil
	case "16qam", "16-qam":
		return newModulation("16qam", 4), nil
	case "64qam", "64-qam":
		return newModulation("64qam", 6), nil
	}
	return nil, badinput.Errorf("--mod %q: unknown modulation (want bpsk, qpsk, 16qam or 64qam)", name)
}

func newModulation(name string, bits int) *Modulation {
	m := &Modulation{Name: name, Bits: bits, complex: bits > 1}
	m.dimBits = max(1, bits/2)
	L := 1 << m.dimBits
	if m.complex {
		M := float64(int(1) << bits)
		m.d = 1 / math.Sqrt(2*(M-1)/3) // E|s|² = 2·d²·(L²−1)/3 = 1
	} else {
		m.d = 1
	}
	m.levels = make([]float64, L)
	m.labels = make([][]uint8, L)
	for idx := range L {
		m.levels[idx] = float64(2*idx-(L-1)) * m.d
		g := idx ^ (idx >> 1) // binary → Gray
		lab := make([]uint8, m.dimBits)
		for b := range lab {
			lab[b] = uint8(g>>uint(m.dimBits-1-b)) & 1
		}
		m.labels[idx] = lab
	}
	for i := range L {
		for b := range m.dimBits {
			m.labBit[i][b] = m.labels[i][b]
			m.opp[i][b] = [2]float64{-1e150, 1e150}
			for j := i - 1; j >= 0; j-- {
				if m.labels[j][b] != m.labels[i][b] {
					m.opp[i][b][0] = m.levels[j]
					break
				}
			}
			for j := i + 1; j < L; j++ {
				if m.labels[j][b] != m.labels[i][b] {
					m.opp[i][b][1] = m.levels[j]
					break
				}
			}
		}
	}
	return m
}

// level returns the PAM index of a dimBits-long label.
func (m *Modulation) level(lab []uint8) int {
	g := 0
	for _, b := range lab[:m.dimBits] {
		g = g<<1 | int(b&1)
	}
	idx := 0
	for ; g != 0; g >>= 1 { // Gray → binary
		idx ^= g
	}
	return idx
}

// Map modulates bits (len(sym)·Bits of them) into sym.
func (m *Modulation) Map(bits []uint8, sym []complex128) {
	k := m.dimBits
	if len(bits) != len(sym)*m.Bits {
		panic("channel: Map: bit count is not symbols × bits per symbol")
	}
	for i := range sym {
		b := bits[i*m.Bits : (i+1)*m.Bits]
		re := m.levels[m.level(b[:k])]
		im := 0.0
		if m.complex {
			im = m.levels[m.level(b[k:])]
		}
		sym[i] = complex(re, im)
	}
}

// nearest returns the PAM index closest to y.
func (m *Modulation) nearest(y float64) int {
	L := len(m.levels)
	idx := int(math.Floor((y/m.d+float64(L-1))/2 + 0.5))
	return min(max(idx, 0), L-1)
}

// Hard writes minimum-distance (hard) bit decisions for equalized symbols z.
func (m *Modulation) Hard(z []complex128, bits []uint8) {
	k := m.dimBits
	for i, v := range z {
		b := bits[i*m.Bits : (i+1)*m.Bits]
		copy(b[:k], m.labels[m.nearest(real(v))])
		if m.complex {
			copy(b[k:], m.labels[m.nearest(imag(v))])
		}
	}
}

// LLR writes max-log LLRs, log P(b=0)/P(b=1), for equalized symbols z.
// gain[i] = |h_i|² is the post-equalization SNR scale of symbol i (nil means
// 1, as on AWGN); n0 is the noise power per complex symbol before
// equalization. Per bit: L = gain/N0 · (min_{s: b=1}|z−s|² − min_{s: b=0}|z−s|²),
// and for a square Gray constellation only the bit's own dimension matters.
func (m *Modulation) LLR(z []complex128, gain []float64, n0 float64, llr []float32) {
	k := m.dimBits
	for i, v := range z {
		scale := 1 / n0
		if gain != nil {
			scale = gain[i] / n0
		}
		out := llr[i*m.Bits : (i+1)*m.Bits]
		m.dimLLR(real(v), scale, out[:k])
		if m.complex {
			m.dimLLR(imag(v), scale, out[k:])
		}
	}
}

// dimLLR computes the max-log LLRs of one dimension's bits in O(bits): the
// closest level overall, i, is the minimum for the bit values it carries;
// for the other value the minimum is at the nearest level with that bit
// flipped on either side of i, since |y − a| grows monotonically away from y
// and y lies inside i's decision interval.
func (m *Modulation) dimLLR(y, scale float64, out []float32) {
	i := m.nearest(y)
	e := y - m.levels[i]
	dNear := e * e
	opp, lab := &m.opp[i], &m.labBit[i]
	for b := range out {
		e0, e1 := y-opp[b][0], y-opp[b][1]
		dOpp := e0 * e0
		if d := e1 * e1; d < dOpp {
			dOpp = d
		}
		l := scale * (dOpp - dNear) // > 0 favours the bit value of level i
		if lab[b] == 1 {
			l = -l
		}
		out[b] = float32(l)
	}
}
