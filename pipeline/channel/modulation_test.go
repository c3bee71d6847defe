package channel

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func allMods(t testing.TB) []*Modulation {
	var ms []*Modulation
	for _, n := range ModulationNames() {
		m, err := ParseModulation(n)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// constellation returns every point with its label bits.
func constellation(m *Modulation) ([]complex128, [][]uint8) {
	M := 1 << m.Bits
	pts := make([]complex128, M)
	labs := make([][]uint8, M)
	for v := range M {
		b := make([]uint8, m.Bits)
		for i := range b {
			b[i] = uint8(v>>uint(m.Bits-1-i)) & 1
		}
		m.Map(b, pts[v:v+1])
		labs[v] = b
	}
	return pts, labs
}

// TestConstellation: M distinct points, unit average energy (to 1e-12), and
// Gray labelling: nearest neighbours (distance 2d) differ in exactly one bit.
func TestConstellation(t *testing.T) {
	for _, m := range allMods(t) {
		pts, labs := constellation(m)
		e := 0.0
		for _, p := range pts {
			e += real(p)*real(p) + imag(p)*imag(p)
		}
		if e /= float64(len(pts)); math.Abs(e-1) > 1e-12 {
			t.Errorf("%s: average energy %v, want 1", m.Name, e)
		}
		for i := range pts {
			for j := range i {
				d := cmplx.Abs(pts[i] - pts[j])
				if d < 1e-9 {
					t.Fatalf("%s: labels %v and %v map to the same point", m.Name, labs[i], labs[j])
				}
				if math.Abs(d-2*m.d) < 1e-9 && CountBitErrors(labs[i], labs[j]) != 1 {
					t.Errorf("%s: neighbours %v %v differ in more than one bit", m.Name, labs[i], labs[j])
				}
			}
		}
	}
	// 802.11 16-QAM in-phase mapping: 00 → −3, 01 → −1, 11 → +1, 10 → +3 (×1/√10).
	m, _ := ParseModulation("16qam")
	for _, c := range []struct {
		b    []uint8
		want float64
	}{{[]uint8{0, 0, 0, 0}, -3}, {[]uint8{0, 1, 0, 0}, -1}, {[]uint8{1, 1, 0, 0}, 1}, {[]uint8{1, 0, 0, 0}, 3}} {
		s := make([]complex128, 1)
		m.Map(c.b, s)
		if math.Abs(real(s[0])*math.Sqrt(10)-c.want) > 1e-12 {
			t.Errorf("16qam %v → %v, want %v/√10", c.b, s[0], c.want)
		}
	}
}

// TestHardAndLLR: noiseless symbols demap to their bits; with noise the LLR
// sign equals the minimum-distance decision; BPSK's LLR is the exact
// −4·gain·Re(z)/N0.
func TestHardAndLLR(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, m := range allMods(t) {
		const ns = 2000
		bits := randomBits(r, ns*m.Bits)
		x := make([]complex128, ns)
		m.Map(bits, x)
		got := make([]uint8, len(bits))
		m.Hard(x, got)
		if e := CountBitErrors(got, bits); e != 0 {
			t.Fatalf("%s: %d errors without noise", m.Name, e)
		}
		for i := range x {
			x[i] += complex(0.3*r.NormFloat64(), 0.3*r.NormFloat64())
		}
		m.Hard(x, got)
		llr := make([]float32, len(bits))
		m.LLR(x, nil, 0.5, llr)
		for i, l := range llr {
			if l != 0 && (l < 0) != (got[i] == 1) {
				t.Fatalf("%s: bit %d LLR %v but hard decision %d", m.Name, i, l, got[i])
			}
		}
	}
	m, _ := ParseModulation("bpsk")
	z := []complex128{0.3 + 5i}
	llr := make([]float32, 1)
	m.LLR(z, []float64{2}, 0.25, llr)
	if want := -4 * 2 * 0.3 / 0.25; math.Abs(float64(llr[0])-want) > 1e-5 {
		t.Errorf("bpsk LLR %v, want %v", llr[0], want)
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := ParseModulation("8psk"); err == nil {
		t.Error("8psk accepted")
	}
	for _, c := range []struct {
		ch  string
		L   int
		eq  string
		bad bool
	}{{"awgn", 1, "zf", false}, {"rayleigh", 10, "mmse", false}, {"rician", 1, "zf", true}, {"rayleigh", 0, "zf", true}, {"rayleigh", 1, "ml", true}} {
		if _, err := ParseChannel(c.ch, c.L, c.eq); (err != nil) != c.bad {
			t.Errorf("ParseChannel(%q,%d,%q) err=%v", c.ch, c.L, c.eq, err)
		}
	}
}

// TestFading: h is constant inside each coherence block, changes between
// blocks, and has E|h|² = 1 (within 5σ of 4000 exponential draws: σ = 1/√4000).
func TestFading(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const L, blocks = 7, 4000
	x := make([]complex128, L*blocks)
	for i := range x {
		x[i] = 1
	}
	y := make([]complex128, len(x))
	h := make([]complex128, len(x))
	Channel{Kind: Rayleigh, Coherence: L}.transmit(r, x, 0.1, y, h)
	p := 0.0
	for b := range blocks {
		for i := 1; i < L; i++ {
			if h[b*L+i] != h[b*L] {
				t.Fatalf("h changes inside block %d", b)
			}
		}
		if b > 0 && h[b*L] == h[(b-1)*L] {
			t.Fatalf("h equal across blocks %d and %d", b-1, b)
		}
		p += real(h[b*L])*real(h[b*L]) + imag(h[b*L])*imag(h[b*L])
	}
	if p /= blocks; math.Abs(p-1) > 5/math.Sqrt(blocks) {
		t.Errorf("E|h|² = %v, want 1", p)
	}
}

// TestLLRBruteForce: the O(bits) per-dimension LLRs equal the max-log
// definition evaluated over the whole 2-D constellation,
// gain/N0·(min_{s: b=1}|z−s|² − min_{s: b=0}|z−s|²), to float32 precision,
// including points far outside the constellation.
func TestLLRBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, m := range allMods(t) {
		pts, labs := constellation(m)
		const ns = 500
		z := make([]complex128, ns)
		gain := make([]float64, ns)
		for i := range z {
			z[i] = complex(2*r.NormFloat64(), 2*r.NormFloat64())
			gain[i] = r.ExpFloat64()
		}
		const n0 = 0.3
		llr := make([]float32, ns*m.Bits)
		m.LLR(z, gain, n0, llr)
		for i, v := range z {
			for b := range m.Bits {
				d := [2]float64{math.Inf(1), math.Inf(1)}
				for j, p := range pts {
					e := v - p
					d[labs[j][b]] = min(d[labs[j][b]], real(e)*real(e)+imag(e)*imag(e))
				}
				want := gain[i] / n0 * (d[1] - d[0])
				if got := float64(llr[i*m.Bits+b]); math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("%s symbol %v bit %d: LLR %v, want %v", m.Name, v, b, got, want)
				}
			}
		}
	}
}
