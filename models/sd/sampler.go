package sd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Samplers. All four run in the variance-exploding ("σ") parametrization of
// k-diffusion: x = x₀ + σ·ε, the UNet sees x/√(σ²+1) and predicts ε, and
// the training schedule is SD 1.5's scaled-linear β from 0.00085 to 0.012
// over 1000 steps, σ_t = √((1−ᾱ_t)/ᾱ_t).
//
//   - ddim: DDIM with η = 0 (diffusers DDIMScheduler with SD 1.5's
//     scheduler_config.json: "leading" spacing t_i = i·⌊1000/n⌋ + 1
//     (steps_offset 1), set_alpha_to_one false). Deterministic DDIM is exactly
//     Euler in σ (x/√ᾱ_t is the σ-space state): noise starts at
//     x_T = noise/√ᾱ_T, the last step goes to σ(ᾱ_0) rather than 0, and
//     the result is scaled back by √ᾱ_0.
//   - euler: diffusers EulerDiscreteScheduler, same leading timesteps, σ
//     interpolated linearly in t, final σ 0, initial noise σ_max·noise.
//   - euler_a: Euler ancestral (EulerAncestralDiscreteScheduler): each step
//     goes down to σ_down and adds fresh noise of σ_up.
//   - dpmpp_2m_karras: k-diffusion's sample_dpmpp_2m on Karras et al.'s σ
//     schedule (ρ = 7) between the training σ_min and σ_max; the UNet gets
//     the fractional timestep whose σ matches (log-σ interpolation), as
//     k-diffusion and stable-diffusion.cpp do.
var Samplers = []string{"ddim", "euler", "euler_a", "dpmpp_2m_karras"}

// TrainSteps is the length of SD 1.5's training schedule.
const TrainSteps = 1000

// AlphasCumprod is ᾱ_t for t = 0..999: the cumulative product of 1−β with
// β_t = (√0.00085 + t/999·(√0.012 − √0.00085))² (scaled_linear), in float64.
func AlphasCumprod() []float64 {
	a, b := math.Sqrt(0.00085), math.Sqrt(0.012)
	out := make([]float64, TrainSteps)
	p := 1.0
	for t := range TrainSteps {
		beta := a + (b-a)*float64(t)/float64(TrainSteps-1)
		p *= 1 - beta*beta
		out[t] = p
	}
	return out
}

// TrainSigmas is σ_t = √((1−ᾱ_t)/ᾱ_t) for t = 0..999.
func TrainSigmas() []float64 {
	ac := AlphasCumprod()
	out := make([]float64, len(ac))
	for i, a := range ac {
		out[i] = math.Sqrt((1 - a) / a)
	}
	return out
}

// LeadingTimesteps is SD 1.5's spacing for n steps, highest first:
// t_i = i·⌊1000/n⌋ + 1 for i = n−1..0.
func LeadingTimesteps(n int) []float64 {
	ratio := TrainSteps / n
	out := make([]float64, n)
	for i := range n {
		out[n-1-i] = float64(i*ratio + 1)
	}
	return out
}

// sigmaAt interpolates σ linearly at a (fractional) timestep.
func sigmaAt(sigmas []float64, t float64) float64 {
	if t <= 0 {
		return sigmas[0]
	}
	if t >= float64(len(sigmas)-1) {
		return sigmas[len(sigmas)-1]
	}
	i := int(t)
	f := t - float64(i)
	return sigmas[i]*(1-f) + sigmas[i+1]*f
}

// timestepOf inverts σ_t by linear interpolation in log σ (k-diffusion's
// sigma_to_t): the fractional timestep whose σ is s.
func timestepOf(sigmas []float64, s float64) float64 {
	ls := math.Log(s)
	i := sort.Search(len(sigmas), func(i int) bool { return math.Log(sigmas[i]) >= ls })
	if i == 0 {
		return 0
	}
	if i >= len(sigmas) {
		return float64(len(sigmas) - 1)
	}
	lo, hi := math.Log(sigmas[i-1]), math.Log(sigmas[i])
	w := (lo - ls) / (lo - hi)
	return float64(i-1) + w
}

// KarrasSigmas is Karras et al.'s schedule of n σ values from max to min,
// ρ = 7, followed by 0.
func KarrasSigmas(n int, min, max float64) []float64 {
	const rho = 7.0
	out := make([]float64, n+1)
	a, b := math.Pow(max, 1/rho), math.Pow(min, 1/rho)
	for i := range n {
		ramp := 0.0
		if n > 1 {
			ramp = float64(i) / float64(n-1)
		}
		out[i] = math.Pow(a+ramp*(b-a), rho)
	}
	return out
}

// Plan is a sampler's schedule for one run: the UNet timestep and σ of each
// step, σ after the last (Sigmas has one more entry than Timesteps), how the
// initial noise is scaled, and the factor turning the final σ-space state
// into latents.
type Plan struct {
	Sampler    string
	Timesteps  []float64
	Sigmas     []float64
	InitScale  float64 // x = noise·InitScale (text-to-image)
	FinalScale float64
}

// NewPlan makes the schedule of a sampler for n steps.
func NewPlan(sampler string, n int) (Plan, error) {
	if n < 1 {
		return Plan{}, fmt.Errorf("steps %d: want at least 1", n)
	}
	if n > TrainSteps {
		return Plan{}, fmt.Errorf("steps %d: want at most %d", n, TrainSteps)
	}
	train := TrainSigmas()
	p := Plan{Sampler: sampler, FinalScale: 1}
	switch sampler {
	case "ddim", "euler", "euler_a":
		p.Timesteps = LeadingTimesteps(n)
		for _, t := range p.Timesteps {
			p.Sigmas = append(p.Sigmas, train[int(t)])
		}
		if sampler == "ddim" {
			// prev_t < 0 at the last step: ᾱ_prev = ᾱ_0 (set_alpha_to_one false).
			p.Sigmas = append(p.Sigmas, train[0])
			p.InitScale = math.Sqrt(p.Sigmas[0]*p.Sigmas[0] + 1)
			p.FinalScale = 1 / math.Sqrt(train[0]*train[0]+1)
		} else {
			p.Sigmas = append(p.Sigmas, 0)
			p.InitScale = p.Sigmas[0]
		}
	case "dpmpp_2m_karras":
		p.Sigmas = KarrasSigmas(n, train[0], train[len(train)-1])
		for _, s := range p.Sigmas[:n] {
			p.Timesteps = append(p.Timesteps, timestepOf(train, s))
		}
		p.InitScale = p.Sigmas[0]
	default:
		return Plan{}, fmt.Errorf("unknown sampler %q (known: %s)", sampler, strings.Join(Samplers, ", "))
	}
	return p, nil
}

// Img2Img trims a plan for an init image and a strength in [0, 1]:
// diffusers' rule, the last ⌊n·strength⌋ steps run (none for 0).
func (p Plan) Img2Img(strength float64) Plan {
	n := len(p.Timesteps)
	k := min(int(float64(n)*strength), n)
	q := p
	q.Timesteps = p.Timesteps[n-k:]
	q.Sigmas = p.Sigmas[n-k:]
	return q
}

// Stepper applies a plan's updates; it keeps DPM++ 2M's previous estimate.
type Stepper struct {
	Plan
	oldDenoised []float64
}

// Step advances x (σ-space state at step i) in place given the UNet's
// guided ε prediction. noise is called for ancestral noise only.
func (s *Stepper) Step(i int, x, eps []float64, noise func() []float64) {
	sig, next := s.Sigmas[i], s.Sigmas[i+1]
	switch s.Sampler {
	case "ddim", "euler":
		for j := range x {
			x[j] += eps[j] * (next - sig)
		}
	case "euler_a":
		up := 0.0
		if next > 0 {
			up = math.Min(next, math.Sqrt(next*next*(sig*sig-next*next)/(sig*sig)))
		}
		down := math.Sqrt(next*next - up*up)
		for j := range x {
			x[j] += eps[j] * (down - sig)
		}
		if up > 0 {
			for j, n := range noise() {
				x[j] += n * up
			}
		}
	case "dpmpp_2m_karras":
		den := make([]float64, len(x))
		for j := range x {
			den[j] = x[j] - sig*eps[j]
		}
		if next == 0 {
			copy(x, den)
			s.oldDenoised = den
			return
		}
		t, tn := -math.Log(sig), -math.Log(next)
		h := tn - t
		d := den
		if s.oldDenoised != nil {
			hLast := t - (-math.Log(s.Sigmas[i-1]))
			r := hLast / h
			d = make([]float64, len(x))
			for j := range x {
				d[j] = (1+1/(2*r))*den[j] - (1/(2*r))*s.oldDenoised[j]
			}
		}
		e := math.Expm1(-h)
		for j := range x {
			x[j] = (next/sig)*x[j] - e*d[j]
		}
		s.oldDenoised = den
	}
}

// Noise is the project's seeded Gaussian source: Go's math/rand/v2 PCG
// seeded with (seed, stream), NormFloat64 draws in order. Streams: 0 the
// initial latents, 1+i the ancestral noise of step i, 1<<20 the VAE
// posterior sample of an init image.
type Noise struct{ Seed uint64 }

// Stream draws n values of one stream.
func (g Noise) Stream(stream uint64, n int) []float64 {
	r := rand.New(rand.NewPCG(g.Seed, stream))
	out := make([]float64, n)
	for i := range out {
		out[i] = r.NormFloat64()
	}
	return out
}

// Stream numbers of Noise.
const (
	StreamLatents   = 0
	StreamAncestral = 1
	StreamPosterior = 1 << 20
)
