package channel

import "math/rand/v2"

// interleaverSeed fixes the bit interleaver: a pseudo-random permutation of
// each codeword, drawn once per block length from PCG(n, interleaverSeed).
// Transmitter and receiver derive it independently, so it is not a
// simulation seed and never changes.
const interleaverSeed = 0x802_11_0e

// interleaver permutes the N bits of one codeword: transmitted bit i is code
// bit perm[i]. It spreads neighbouring code bits over different symbols and,
// with block fading, over different fades.
type interleaver struct{ perm []int32 }

func newInterleaver(n int) *interleaver {
	r := rand.New(rand.NewPCG(uint64(n), interleaverSeed))
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return &interleaver{p}
}

// apply writes out[i] = in[perm[i]].
func (il *interleaver) apply(in, out []uint8) {
	for i, p := range il.perm {
		out[i] = in[p]
	}
}

// invertLLR writes out[perm[i]] = in[i].
func (il *interleaver) invertLLR(in, out []float32) {
	for i, p := range il.perm {
		out[p] = in[i]
	}
}
