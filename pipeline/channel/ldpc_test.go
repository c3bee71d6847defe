package channel

import (
	"math/rand/v2"
	"testing"
)

func allCodes(t testing.TB) []*LDPC {
	t.Helper()
	var cs []*LDPC
	for _, name := range CodeNames()[1:] {
		c, err := ParseCode(name)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs
}

func randomBits(r *rand.Rand, n int) []uint8 {
	b := make([]uint8, n)
	for i := range b {
		b[i] = uint8(r.Uint32() & 1)
	}
	return b
}

// TestLDPCDimensions checks n, k and Z of all twelve codes against the
// standard (k = n·rate, Z = n/24).
func TestLDPCDimensions(t *testing.T) {
	cs := allCodes(t)
	if len(cs) != 12 {
		t.Fatalf("%d codes, want 12", len(cs))
	}
	for _, c := range cs {
		if c.K*c.Den != c.N*c.Num || c.Z*24 != c.N || c.K+c.M != c.N {
			t.Errorf("%s: N=%d K=%d M=%d Z=%d", c.Name, c.N, c.K, c.M, c.Z)
		}
	}
}

// TestLDPCEncodeParity checks H·c = 0 for random messages on every code and
// that the codeword is systematic. It catches encoder bugs and typos in the
// parity part (which fail construction); a typo in an information-part shift
// still gives a valid (different) code, which TestLDPCTableDigest catches.
func TestLDPCEncodeParity(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range allCodes(t) {
		cw := make([]uint8, c.N)
		for trial := range 20 {
			info := randomBits(r, c.K)
			c.Encode(info, cw)
			if u := c.Unsatisfied(cw); u != 0 {
				t.Fatalf("%s trial %d: %d unsatisfied checks", c.Name, trial, u)
			}
			for i := range info {
				if cw[i] != info[i] {
					t.Fatalf("%s: not systematic at bit %d", c.Name, i)
				}
			}
		}
		// A single flipped bit must violate at least one check.
		cw[r.IntN(c.N)] ^= 1
		if c.Unsatisfied(cw) == 0 {
			t.Errorf("%s: flipped word passes all checks", c.Name)
		}
	}
}

// TestLDPCDecodeNoiseless: a clean word (LLR ±10) decodes to itself in one
// iteration with early exit.
func TestLDPCDecodeNoiseless(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range allCodes(t) {
		info, llr := encodedLLRs(r, c, 10)
		out := make([]uint8, c.K)
		iters, ok := c.NewDecoder(20, true).Decode(llr, out)
		if !ok || iters != 1 {
			t.Errorf("%s: iters=%d ok=%v, want 1 true", c.Name, iters, ok)
		}
		for i := range out {
			if out[i] != info[i] {
				t.Fatalf("%s: bit %d wrong", c.Name, i)
			}
		}
	}
}

// TestLDPCCorrectsErrors: a few hard errors with weak LLRs are corrected.
func TestLDPCCorrectsErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range allCodes(t) {
		info, llr := encodedLLRs(r, c, 4)
		for range 3 { // three bits flipped with low confidence
			i := r.IntN(c.N)
			llr[i] = -llr[i] / 4
		}
		out := make([]uint8, c.K)
		if _, ok := c.NewDecoder(20, true).Decode(llr, out); !ok {
			t.Errorf("%s: did not converge", c.Name)
		}
		for i := range out {
			if out[i] != info[i] {
				t.Fatalf("%s: bit %d wrong", c.Name, i)
			}
		}
	}
}

func TestParseCodeErrors(t *testing.T) {
	for _, s := range []string{"turbo", "ldpc-1000-1/2", "ldpc-648-7/8", "ldpc-648-1", "ldpc-x-1/2", "ldpc-648-a/b"} {
		if _, err := ParseCode(s); err == nil {
			t.Errorf("ParseCode(%q) accepted", s)
		}
	}
	if c, err := ParseCode("none"); c != nil || err != nil {
		t.Errorf("none: %v %v", c, err)
	}
}

// TestLDPCTableDigest pins the transcribed base matrices: per code the number
// of non-zero blocks and Σ (24·row + col + 1)·(shift + 1). The golden values
// were computed from an independent transcription that agreed with two
// others, so an accidental edit of any shift fails here.
func TestLDPCTableDigest(t *testing.T) {
	want := map[string][2]int{
		"ldpc-648-1/2":  {88, 122814},
		"ldpc-648-2/3":  {88, 111912},
		"ldpc-648-3/4":  {88, 68169},
		"ldpc-648-5/6":  {88, 49714},
		"ldpc-1296-1/2": {86, 232287},
		"ldpc-1296-2/3": {88, 171146},
		"ldpc-1296-3/4": {88, 139800},
		"ldpc-1296-5/6": {85, 97179},
		"ldpc-1944-1/2": {86, 354298},
		"ldpc-1944-2/3": {88, 268396},
		"ldpc-1944-3/4": {85, 207975},
		"ldpc-1944-5/6": {79, 144151},
	}
	for _, c := range allCodes(t) {
		nnz, w := 0, 0
		for i, l := range c.layers {
			for _, e := range l {
				nnz++
				w += (24*i + e.col + 1) * (e.shift + 1)
			}
		}
		if got := [2]int{nnz, w}; got != want[c.Name] {
			t.Errorf("%s: digest %v, want %v", c.Name, got, want[c.Name])
		}
	}
}

// encodedLLRs encodes a random message and returns it with the codeword's
// noiseless LLRs of magnitude scale (positive for a 0 bit).
func encodedLLRs(r *rand.Rand, c *LDPC, scale float32) ([]uint8, []float32) {
	info := randomBits(r, c.K)
	cw := make([]uint8, c.N)
	c.Encode(info, cw)
	llr := make([]float32, c.N)
	for i, b := range cw {
		llr[i] = scale * (1 - 2*float32(b))
	}
	return info, llr
}
