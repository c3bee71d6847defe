package channel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// noisyWords returns count codewords' worth of BPSK/AWGN channel LLRs for
// the code at Eb/N0 = ebn0 dB.
func noisyWords(c *LDPC, ebn0 float64, count int) [][]float32 {
	r := rand.New(rand.NewPCG(99, 1))
	bpsk, _ := ParseModulation("bpsk")
	w := newModem(&Link{Mod: bpsk, Code: c, Channel: Channel{Kind: AWGN}})
	n0 := N0(EsN0(ebn0, 1, c.Rate()))
	words := make([][]float32, count)
	for i := range words {
		tx := w.encode(nil, randomBits(r, c.K))
		llr, _ := w.send(r, tx, n0)
		words[i] = append([]float32(nil), llr...)
	}
	return words
}

// BenchmarkLDPCDecode measures one goroutine decoding the 1944-bit rate-1/2
// code: exactly 10 iterations with no early exit, and with early exit
// (limit 20) at Eb/N0 = 3 dB. info-Mbit/s counts information bits.
func BenchmarkLDPCDecode(b *testing.B) {
	c, _ := ParseCode("ldpc-1944-1/2")
	words := noisyWords(c, 3, 64)
	out := make([]uint8, c.K)
	for _, bc := range []struct {
		name  string
		iters int
		early bool
	}{{"10iter-noexit", 10, false}, {"early-exit-3dB", 20, true}} {
		b.Run(bc.name, func(b *testing.B) {
			d := c.NewDecoder(bc.iters, bc.early)
			total := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				it, _ := d.Decode(words[i%len(words)], out)
				total += it
			}
			b.ReportMetric(float64(c.K)*float64(b.N)/b.Elapsed().Seconds()/1e6, "info-Mbit/s")
			b.ReportMetric(float64(total)/float64(b.N), "iters/op")
		})
	}
}

func BenchmarkLDPCEncode(b *testing.B) {
	c, _ := ParseCode("ldpc-1944-1/2")
	info := randomBits(rand.New(rand.NewPCG(1, 1)), c.K)
	cw := make([]uint8, c.N)
	for i := 0; i < b.N; i++ {
		c.Encode(info, cw)
	}
	b.ReportMetric(float64(c.K)*float64(b.N)/b.Elapsed().Seconds()/1e6, "info-Mbit/s")
}

// BenchmarkModem measures map → channel (fading + noise) → equalize →
// max-log LLR on blocks of 4096 symbols.
func BenchmarkModem(b *testing.B) {
	const ns = 4096
	for _, mod := range ModulationNames() {
		for _, ch := range []Channel{{Kind: AWGN, Coherence: 1}, {Kind: Rayleigh, Coherence: 1}} {
			b.Run(fmt.Sprintf("%s/%s", mod, ch.Kind), func(b *testing.B) {
				m, _ := ParseModulation(mod)
				r := rand.New(rand.NewPCG(2, 2))
				w := newModem(&Link{Mod: m, Channel: ch})
				bits := randomBits(r, ns*m.Bits)
				b.ReportAllocs()
				w.send(r, bits, 0.1) // size the buffers
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					w.send(r, bits, 0.1)
				}
				b.ReportMetric(float64(ns)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Msym/s")
			})
		}
	}
}
