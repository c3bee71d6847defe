package channel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
)

// Kind is the channel model.
type Kind int

const (
	AWGN     Kind = iota // y = x + n
	Rayleigh             // y = h·x + n, h ~ CN(0,1), flat fading
)

func (k Kind) String() string {
	if k == Rayleigh {
		return "rayleigh"
	}
	return "awgn"
}

// Equalizer is the receiver's one-tap equalizer (perfect CSI).
type Equalizer int

const (
	ZF   Equalizer = iota // ŝ = y/h
	MMSE                  // ŝ = h*·y/(|h|²+N0), the LMMSE estimate for E|s|² = 1
)

func (e Equalizer) String() string {
	if e == MMSE {
		return "mmse"
	}
	return "zf"
}

// Channel is a flat channel at one SNR. SNR is Es/N0 in dB per complex
// symbol: the transmitted symbols have unit average energy, so the complex
// noise is CN(0, N0) with N0 = 10^(−SNR/10), i.e. N0/2 per real dimension.
type Channel struct {
	Kind      Kind
	Coherence int // Rayleigh block length L in symbols; 1 = fast fading
	Eq        Equalizer
}

// ParseChannel parses --channel, --coherence and --eq.
func ParseChannel(name string, coherence int, eq string) (Channel, error) {
	var ch Channel
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "awgn":
		ch.Kind = AWGN
	case "rayleigh":
		ch.Kind = Rayleigh
	default:
		return ch, badinput.Errorf("--channel %q: unknown channel (want awgn or rayleigh)", name)
	}
	if coherence < 1 {
		return ch, badinput.Errorf("--coherence %d: must be at least 1 symbol", coherence)
	}
	ch.Coherence = coherence
	switch strings.ToLower(strings.TrimSpace(eq)) {
	case "zf", "":
		ch.Eq = ZF
	case "mmse":
		ch.Eq = MMSE
	default:
		return ch, badinput.Errorf("--eq %q: unknown equalizer (want zf or mmse)", eq)
	}
	return ch, nil
}

func (c Channel) String() string {
	if c.Kind == Rayleigh {
		return fmt.Sprintf("rayleigh(L=%d,%s)", c.Coherence, c.Eq)
	}
	return "awgn"
}

// N0 converts Es/N0 in dB to the noise power per complex symbol (Es = 1).
func N0(snrDB float64) float64 { return math.Pow(10, -snrDB/10) }

// transmit sends x through the channel: it draws the fading (h ~ CN(0,1)
// held for Coherence symbols, blocks aligned to x[0]) and the noise, and
// writes the received y and the channel h. On AWGN h = 1.
func (c Channel) transmit(r *rand.Rand, x []complex128, n0 float64, y, h []complex128) {
	sigma := math.Sqrt(n0 / 2)
	L := max(c.Coherence, 1)
	hc := complex(1, 0)
	for i, s := range x {
		if c.Kind == Rayleigh && i%L == 0 {
			hc = complex(r.NormFloat64()*math.Sqrt2/2, r.NormFloat64()*math.Sqrt2/2)
		}
		n := complex(sigma*r.NormFloat64(), sigma*r.NormFloat64())
		y[i] = hc*s + n
		h[i] = hc
	}
}

// equalize writes the equalized symbols z and the gains |h|² that scale the
// LLRs. For digital demapping it returns the unbiased estimate: ZF, y/h,
// directly; MMSE divides the LMMSE estimate by its bias |h|²/(|h|²+N0),
// which for one antenna is again y/h. So ZF and MMSE give identical bits
// and LLRs; the choice matters only for the analog mode (equalizeAnalog).
func equalize(y, h []complex128, z []complex128, gain []float64) {
	for i, v := range y {
		hv := h[i]
		g := real(hv)*real(hv) + imag(hv)*imag(hv)
		z[i] = v * complex(real(hv)/g, -imag(hv)/g)
		gain[i] = g
	}
}

// equalizeAnalog returns the symbol estimates of the analog mode: ZF y/h, or
// the biased LMMSE h*·y/(|h|²+N0), which has the lower mean squared error.
func (c Channel) equalizeAnalog(y, h []complex128, n0 float64, z []complex128) {
	for i, v := range y {
		hv := h[i]
		g := real(hv)*real(hv) + imag(hv)*imag(hv)
		den := g
		if c.Eq == MMSE {
			den = g + n0
		}
		z[i] = v * complex(real(hv)/den, -imag(hv)/den)
	}
}
