package channel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// pixels returns a test slice: values in [0, 1] like normalized pixels.
func pixels(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 0))
	x := make([]float64, n)
	for i := range x {
		x[i] = r.Float64()
	}
	return x
}

// expectedLMMSE is E_h[N0/(|h|²+N0)] for |h|² ~ Exp(1), the LMMSE error per
// unit-power symbol on Rayleigh fading, by the trapezoid rule on a log grid.
func expectedLMMSE(n0 float64) float64 {
	sum, prev, fprev := 0.0, 0.0, 1.0
	for i := 1; i <= 200000; i++ {
		t := math.Expm1(float64(i) * 1e-4)
		f := n0 / (t + n0) * math.Exp(-t)
		sum += (t - prev) * (f + fprev) / 2
		prev, fprev = t, f
		if t > 50 {
			break
		}
	}
	return sum
}

// TestAnalogMSE: the received slice has the mean squared error that Es/N0
// predicts: per real sample α²·N0/2 for ZF on AWGN, α²·N0/(2(1+N0)) for
// LMMSE on AWGN and α²·E[N0/(|h|²+N0)]/2 for LMMSE on Rayleigh. Tolerance:
// 5 standard errors of the sample mean of the squared errors.
func TestAnalogMSE(t *testing.T) {
	x := pixels(40001, 1) // odd length: the tail symbol carries one sample
	for _, c := range []struct {
		name string
		ch   Channel
		snr  float64
		want func(n0 float64) float64 // per complex unit-power symbol
	}{
		{"awgn zf", Channel{Kind: AWGN, Coherence: 1}, 10, func(n0 float64) float64 { return n0 }},
		{"awgn mmse", Channel{Kind: AWGN, Coherence: 1, Eq: MMSE}, 0, func(n0 float64) float64 { return n0 / (1 + n0) }},
		{"rayleigh mmse", Channel{Kind: Rayleigh, Coherence: 1, Eq: MMSE}, 5, expectedLMMSE},
		{"rayleigh block mmse", Channel{Kind: Rayleigh, Coherence: 8, Eq: MMSE}, 5, expectedLMMSE},
	} {
		res := SendAnalog(x, c.ch, c.snr, 2)
		if len(res.Received) != len(x) || res.Symbols != (len(x)+1)/2 {
			t.Fatalf("%s: %d samples, %d symbols", c.name, len(res.Received), res.Symbols)
		}
		var m, m2 float64
		for i := range x {
			e := res.Received[i] - x[i]
			m += e * e
			m2 += e * e * e * e
		}
		n := float64(len(x))
		m /= n
		se := math.Sqrt((m2/n - m*m) / n * float64(max(c.ch.Coherence, 1)))
		want := res.Scale * res.Scale * c.want(N0(c.snr)) / 2
		if math.Abs(m-want) > 5*se || math.Abs(res.MSE-m) > 1e-12 {
			t.Errorf("%s: MSE %.5g (reported %.5g), want %.5g ± %.2g", c.name, m, res.MSE, want, 5*se)
		}
	}
}

// TestAnalogPowerAndDeterminism: Es = 1 after normalization, same seed gives
// the same slice, and an empty or all-zero slice is handled.
func TestAnalogPowerAndDeterminism(t *testing.T) {
	x := pixels(1000, 3)
	a := SendAnalog(x, Channel{Kind: Rayleigh, Coherence: 4}, 10, 9)
	b := SendAnalog(x, Channel{Kind: Rayleigh, Coherence: 4}, 10, 9)
	if !slices.Equal(a.Received, b.Received) {
		t.Fatal("same seed, different slices")
	}
	e := 0.0
	for _, v := range x {
		e += v * v / (a.Scale * a.Scale)
	}
	if e /= float64(a.Symbols); math.Abs(e-1) > 1e-12 {
		t.Fatalf("symbol energy %v, want 1", e)
	}
	if r := SendAnalog(nil, Channel{Kind: AWGN}, 10, 1); len(r.Received) != 0 || r.Symbols != 0 {
		t.Fatalf("empty slice: %+v", r)
	}
	if r := SendAnalog(make([]float64, 4), Channel{Kind: AWGN}, 10, 1); r.Scale != 1 {
		t.Fatalf("zero slice scale %v", r.Scale)
	}
}
