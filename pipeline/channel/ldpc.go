package channel

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/multisc/multisc/bindings/badinput"
)

// codeKey names one 802.11n code: block length n and rate num/den.
type codeKey struct{ n, num, den int }

// blockEdge is one non-zero Z×Z block of the base matrix: the column block
// and the right cyclic shift of the identity.
type blockEdge struct{ col, shift int }

// LDPC is one IEEE 802.11n quasi-cyclic LDPC code. Codewords are systematic:
// c = [information bits (K) | parity bits (M)].
type LDPC struct {
	Name    string // "ldpc-1944-1/2"
	N, K, M int    // codeword, information and parity lengths in bits
	Z       int    // lifting size (27, 54 or 81)
	Num     int    // rate numerator
	Den     int    // rate denominator

	mb, kb int           // base rows (layers) and information block columns
	layers [][]blockEdge // per base row, its non-zero blocks in column order
	edges  int           // non-zero blocks in total

	// Parity structure (checked at construction): column kb has shift a in
	// rows 0 and mb-1 and shift b in row mid; columns kb+1.. are the 0-shift
	// dual diagonal.
	a, b, mid int
}

var (
	codeCache   = map[codeKey]*LDPC{}
	codeCacheMu sync.Mutex
)

// CodeNames lists the accepted --code values in order.
func CodeNames() []string {
	names := []string{"none"}
	for _, n := range []int{648, 1296, 1944} {
		for _, r := range []string{"1/2", "2/3", "3/4", "5/6"} {
			names = append(names, fmt.Sprintf("ldpc-%d-%s", n, r))
		}
	}
	return names
}

// ParseCode parses a --code value; "none" (uncoded) returns nil, nil.
func ParseCode(name string) (*LDPC, error) {
	s := strings.ToLower(strings.TrimSpace(name))
	if s == "none" || s == "uncoded" {
		return nil, nil
	}
	bad := func(why string) error {
		return badinput.Errorf("--code %q: %s (want none or ldpc-N-R with N 648|1296|1944 and R 1/2|2/3|3/4|5/6)", name, why)
	}
	parts := strings.Split(s, "-")
	if len(parts) != 3 || parts[0] != "ldpc" {
		return nil, bad("unknown code")
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return nil, bad("block length is not a number")
	}
	nd := strings.Split(parts[2], "/")
	if len(nd) != 2 {
		return nil, bad("rate must be a fraction")
	}
	num, err1 := strconv.Atoi(nd[0])
	den, err2 := strconv.Atoi(nd[1])
	if err1 != nil || err2 != nil {
		return nil, bad("rate must be a fraction")
	}
	c, err := NewLDPC(n, num, den)
	if err != nil {
		return nil, bad(err.Error())
	}
	return c, nil
}

// NewLDPC returns the 802.11n code with block length n and rate num/den.
// Codes are immutable and shared.
func NewLDPC(n, num, den int) (*LDPC, error) {
	key := codeKey{n, num, den}
	codeCacheMu.Lock()
	defer codeCacheMu.Unlock()
	if c, ok := codeCache[key]; ok {
		return c, nil
	}
	table, ok := baseMatrices[key]
	if !ok {
		if n != 648 && n != 1296 && n != 1944 {
			return nil, fmt.Errorf("no 802.11n code of length %d", n)
		}
		return nil, fmt.Errorf("no 802.11n code of rate %d/%d", num, den)
	}
	c, err := buildLDPC(key, table)
	if err != nil {
		panic(err) // the tables are constants; a bad one is a programming error
	}
	codeCache[key] = c
	return c, nil
}

func buildLDPC(key codeKey, table string) (*LDPC, error) {
	const nb = 24
	z := key.n / nb
	var base [][]int
	for _, line := range strings.Split(strings.TrimSpace(table), "\n") {
		f := strings.Fields(line)
		if len(f) != nb {
			return nil, fmt.Errorf("ldpc %v: row has %d columns", key, len(f))
		}
		row := make([]int, nb)
		for j, v := range f {
			if v == "-" {
				row[j] = -1
				continue
			}
			s, err := strconv.Atoi(v)
			if err != nil || s < 0 || s >= z {
				return nil, fmt.Errorf("ldpc %v: bad shift %q", key, v)
			}
			row[j] = s
		}
		base = append(base, row)
	}
	mb := len(base)
	kb := nb - mb
	if kb*key.den != nb*key.num {
		return nil, fmt.Errorf("ldpc %v: %d rows do not give rate %d/%d", key, mb, key.num, key.den)
	}
	c := &LDPC{
		Name: fmt.Sprintf("ldpc-%d-%d/%d", key.n, key.num, key.den),
		N:    key.n, K: kb * z, M: mb * z, Z: z, Num: key.num, Den: key.den,
		mb: mb, kb: kb, mid: -1,
	}
	for _, row := range base {
		var l []blockEdge
		for j, s := range row {
			if s >= 0 {
				l = append(l, blockEdge{j, s})
			}
		}
		c.layers = append(c.layers, l)
		c.edges += len(l)
	}
	// Check the dual-diagonal parity structure the encoder relies on.
	for i, row := range base {
		switch v := row[kb]; {
		case i == 0 || i == mb-1:
			if v < 0 {
				return nil, fmt.Errorf("ldpc %v: parity column 0 empty in row %d", key, i)
			}
			c.a = v
		case v >= 0:
			if c.mid >= 0 {
				return nil, fmt.Errorf("ldpc %v: parity column 0 has more than 3 blocks", key)
			}
			c.mid, c.b = i, v
		}
		for j := 1; j < mb; j++ {
			want := -1
			if i == j-1 || i == j {
				want = 0
			}
			if row[kb+j] != want {
				return nil, fmt.Errorf("ldpc %v: parity block (%d,%d) is not dual-diagonal", key, i, j)
			}
		}
	}
	if base[0][kb] != base[mb-1][kb] || c.mid < 0 {
		return nil, fmt.Errorf("ldpc %v: parity column 0 is not of the form (a, b, a)", key)
	}
	return c, nil
}

// Rate is the code rate K/N.
func (c *LDPC) Rate() float64 { return float64(c.K) / float64(c.N) }

// Encode writes the systematic codeword of info (K bits, values 0/1) into
// cw (N bits). It uses the dual-diagonal parity structure of 802.11n
// (Richardson–Urbanke style): with λ_i the syndrome of the information part
// in layer i, Σλ_i = P^b·p0 gives the first parity block, and the rest follow
// by back substitution down the diagonal. Cost is O(edges·Z).
func (c *LDPC) Encode(info, cw []uint8) {
	if len(info) != c.K || len(cw) != c.N {
		panic(fmt.Sprintf("ldpc encode: got %d info and %d code bits, want %d and %d", len(info), len(cw), c.K, c.N))
	}
	z := c.Z
	copy(cw, info)
	lambda := make([]uint8, c.M)
	for i, l := range c.layers {
		li := lambda[i*z : (i+1)*z]
		for _, e := range l {
			if e.col >= c.kb {
				continue
			}
			blk := cw[e.col*z : (e.col+1)*z]
			for r := range li {
				li[r] ^= blk[(r+e.shift)%z]
			}
		}
	}
	// p0: (P^b p0)[r] = p0[(r+b)%z] = Σ_i λ_i[r].
	sum := make([]uint8, z)
	for i := 0; i < c.mb; i++ {
		for r, v := range lambda[i*z : (i+1)*z] {
			sum[r] ^= v
		}
	}
	par := cw[c.K:]
	p0 := par[:z]
	for r := range z {
		p0[(r+c.b)%z] = sum[r]
	}
	// Layer 0: λ0 + P^a p0 + p1 = 0.
	p1 := par[z : 2*z]
	for r := range z {
		p1[r] = lambda[r] ^ p0[(r+c.a)%z]
	}
	// Layer i: λi + [i==mid] P^b p0 + p_i + p_{i+1} = 0.
	for i := 1; i < c.mb-1; i++ {
		pi := par[i*z : (i+1)*z]
		pn := par[(i+1)*z : (i+2)*z]
		li := lambda[i*z : (i+1)*z]
		for r := range z {
			v := li[r] ^ pi[r]
			if i == c.mid {
				v ^= p0[(r+c.b)%z]
			}
			pn[r] = v
		}
	}
}

// Unsatisfied counts the parity checks that the hard word cw (N bits) fails;
// zero means cw is a codeword (H·c = 0).
func (c *LDPC) Unsatisfied(cw []uint8) int {
	z := c.Z
	bad := 0
	par := make([]uint8, z)
	for _, l := range c.layers {
		clear(par)
		for _, e := range l {
			blk := cw[e.col*z : (e.col+1)*z]
			for r := range par {
				par[r] ^= blk[(r+e.shift)%z] & 1
			}
		}
		for _, p := range par {
			bad += int(p)
		}
	}
	return bad
}
