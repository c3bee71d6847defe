package llava

import (
	"math"
	"math/rand/v2"
	"sort"
)

// Sampling chooses the next token. Temperature 0 is greedy (argmax, the
// lowest id on ties); otherwise logits/temperature are restricted to the
// TopK highest (0 = all), softmaxed, restricted to the smallest set whose
// probability reaches TopP (1 = all), renormalized and drawn from with the
// sequence's own seeded stream.
type Sampling struct {
	Temperature float64
	TopK        int
	TopP        float64
	Seed        uint64
}

// sampler is one sequence's sampler.
type sampler struct {
	Sampling
	r *rand.Rand
}

// newSampler seeds a stream per (seed, stream): captions of different
// images in one call differ, and image i gets the same stream whether it
// is captioned alone or in a batch.
func newSampler(s Sampling, stream uint64) *sampler {
	return &sampler{Sampling: s, r: rand.New(rand.NewPCG(s.Seed, stream))}
}

func argmax(logits []float32) int32 {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return int32(best)
}

// sample picks a token from one row of logits.
func (s *sampler) sample(logits []float32) int32 {
	if s.Temperature <= 0 {
		return argmax(logits)
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if s.TopK > 0 && s.TopK < len(idx) {
		idx = idx[:s.TopK]
	}
	p := make([]float64, len(idx))
	top := float64(logits[idx[0]]) / s.Temperature
	var sum float64
	for i, id := range idx {
		p[i] = math.Exp(float64(logits[id])/s.Temperature - top)
		sum += p[i]
	}
	keep := len(p)
	if s.TopP > 0 && s.TopP < 1 {
		var cum float64
		for i := range p {
			cum += p[i] / sum
			if cum >= s.TopP {
				keep = i + 1
				break
			}
		}
	}
	var total float64
	for i := range keep {
		total += p[i]
	}
	u := s.r.Float64() * total
	for i := range keep {
		u -= p[i]
		if u < 0 {
			return int32(idx[i])
		}
	}
	return int32(idx[keep-1])
}
