package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/multisc/multisc/bindings/badinput"
	"github.com/multisc/multisc/pipeline"
)

// Channels lists the channels a sweep can use (--channels).
var Channels = []string{"awgn", "rayleigh"}

// Bounds of an SNR list: wide enough for any experiment, narrow enough that
// no value makes a sweep plan explode.
const (
	MaxSNRdB     = 200  // |SNR| in dB
	MinSNRStep   = 1e-3 // dB
	MaxSNRPoints = 1000 // points in one list
	MaxShards    = 1 << 20
)

// ParseSNRs parses an SNR list in dB: comma-separated items, each a number
// ("5") or an inclusive range "start:step:stop" ("0:3:18" = 0,3,…,18).
// Empty lists, empty items, NaN or infinite values, |x| > MaxSNRdB, steps
// ≤ 0 (or below MinSNRStep), descending ranges, more than MaxSNRPoints
// points and repeated values are refused with a bad-input error naming
// --snr. Values keep the order given, rounded to 1e-9 dB so that 0.1+0.2
// prints as 0.3.
func ParseSNRs(s string) ([]float64, error) {
	bad := func(why string) error {
		return badinput.Errorf("--snr %q: %s (want START:STEP:STOP or a list X,Y,… in dB)", s, why)
	}
	if strings.TrimSpace(s) == "" {
		return nil, bad("empty")
	}
	num := func(p string) (float64, error) {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, bad(fmt.Sprintf("%q is not a number", strings.TrimSpace(p)))
		}
		return x, nil
	}
	var out []float64
	add := func(x float64) error {
		if math.Abs(x) > MaxSNRdB {
			return bad(fmt.Sprintf("%g dB is outside ±%d dB", x, MaxSNRdB))
		}
		x = math.Round(x*1e9) / 1e9
		if x == 0 {
			x = 0 // no -0
		}
		if slices.Contains(out, x) {
			return bad(fmt.Sprintf("%g dB is listed twice", x))
		}
		if len(out) >= MaxSNRPoints {
			return bad(fmt.Sprintf("more than %d points", MaxSNRPoints))
		}
		out = append(out, x)
		return nil
	}
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			return nil, bad("empty item")
		}
		parts := strings.Split(item, ":")
		switch len(parts) {
		case 1:
			x, err := num(parts[0])
			if err != nil {
				return nil, err
			}
			if err := add(x); err != nil {
				return nil, err
			}
		case 3:
			var v [3]float64
			for i, p := range parts {
				x, err := num(p)
				if err != nil {
					return nil, err
				}
				v[i] = x
			}
			start, step, stop := v[0], v[1], v[2]
			switch {
			case step <= 0:
				return nil, bad("step must be positive")
			case step < MinSNRStep:
				return nil, bad(fmt.Sprintf("step must be at least %g dB", MinSNRStep))
			case stop < start:
				return nil, bad("stop is below start")
			case (stop-start)/step >= MaxSNRPoints:
				return nil, bad(fmt.Sprintf("more than %d points", MaxSNRPoints))
			}
			n := int(math.Floor((stop-start)/step+1e-9)) + 1
			for i := range n {
				if err := add(start + float64(i)*step); err != nil {
					return nil, err
				}
			}
		default:
			return nil, bad(fmt.Sprintf("%q is neither a number nor START:STEP:STOP", strings.TrimSpace(item)))
		}
	}
	return out, nil
}

// ParseMethods parses --methods: a comma-separated list of pipeline.Methods,
// each at most once, in the order given.
func ParseMethods(s string) ([]string, error) {
	return parseList("--methods", s, pipeline.Methods)
}

// ParseChannels parses --channels: a comma-separated list of awgn and
// rayleigh, each at most once.
func ParseChannels(s string) ([]string, error) {
	return parseList("--channels", s, Channels)
}

func parseList(flag, s string, allowed []string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, badinput.Errorf("%s is empty (want one or more of %s)", flag, strings.Join(allowed, ","))
	}
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		switch {
		case !slices.Contains(allowed, item):
			return nil, badinput.Errorf("%s: unknown %q (want one or more of %s)", flag, item, strings.Join(allowed, ","))
		case slices.Contains(out, item):
			return nil, badinput.Errorf("%s: %q is listed twice", flag, item)
		}
		out = append(out, item)
	}
	return out, nil
}

// Shard selects part of a sweep: the images whose index i (from 0, in
// dataset order) has i mod N == K-1, so that all rows of an image (and the
// reuse of its transmission) stay in one shard. The zero Shard is the whole
// sweep.
type Shard struct{ K, N int }

// Whole reports whether s selects every image.
func (s Shard) Whole() bool { return s.N <= 1 }

// Has reports whether the image at index i belongs to the shard.
func (s Shard) Has(i int) bool { return s.Whole() || i%s.N == s.K-1 }

// String is "k/n", or "" for the whole sweep.
func (s Shard) String() string {
	if s.N == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}

// ParseShard parses --shard "k/n" (1 ≤ k ≤ n); "" is the whole sweep.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	bad := func(why string) error {
		return badinput.Errorf("--shard %q: %s (want K/N with 1 ≤ K ≤ N, e.g. 3/8)", s, why)
	}
	ks, ns, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, bad("no '/'")
	}
	k, err1 := strconv.Atoi(strings.TrimSpace(ks))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case err1 != nil || err2 != nil:
		return Shard{}, bad("K and N must be whole numbers")
	case n < 1 || n > MaxShards:
		return Shard{}, bad(fmt.Sprintf("N must be 1 to %d", MaxShards))
	case k < 1 || k > n:
		return Shard{}, bad("K must be 1 to N")
	}
	return Shard{K: k, N: n}, nil
}
