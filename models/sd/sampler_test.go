package sd

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestSchedule: ᾱ and σ against independent closed forms and published
// values: ᾱ_0 = 1 − β_0 = 0.99915; k-diffusion's SD 1.5 σ_min 0.0291675 and
// σ_max 14.614642; leading spacing of SD 1.5's scheduler config.
func TestSchedule(t *testing.T) {
	ac := AlphasCumprod()
	s := TrainSigmas()
	for _, tc := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"alphas_cumprod[0]", ac[0], 1 - 0.00085, 1e-15},
		{"alphas_cumprod[1]", ac[1], (1 - 0.00085) * (1 - math.Pow(math.Sqrt(0.00085)+(math.Sqrt(0.012)-math.Sqrt(0.00085))/999, 2)), 1e-15},
		{"sigma_min", s[0], 0.0291675, 1e-5},
		{"sigma_max", s[999], 14.614642, 1e-6},
	} {
		if !near(tc.got, tc.want, tc.tol) {
			t.Errorf("%s = %.9g, want %.9g", tc.name, tc.got, tc.want)
		}
	}
	for _, tc := range []struct {
		n           int
		first, last float64
	}{{20, 951, 1}, {50, 981, 1}, {3, 667, 1}, {1, 1, 1}} {
		ts := LeadingTimesteps(tc.n)
		if len(ts) != tc.n || ts[0] != tc.first || ts[tc.n-1] != tc.last {
			t.Errorf("LeadingTimesteps(%d) = %v, want %v..%v", tc.n, ts, tc.first, tc.last)
		}
	}
}

// TestKarras: σ_0 = σ_max, σ_{n−1} = σ_min, the ρ-th root is linear in
// between, and the schedule ends at 0; timestepOf inverts σ_t at integers.
func TestKarras(t *testing.T) {
	s := TrainSigmas()
	k := KarrasSigmas(10, s[0], s[999])
	if !near(k[0], s[999], 1e-12) || !near(k[9], s[0], 1e-12) || k[10] != 0 {
		t.Fatalf("ends %v %v %v", k[0], k[9], k[10])
	}
	for i := 1; i < 9; i++ {
		want := math.Pow(math.Pow(s[999], 1/7.0)+float64(i)/9*(math.Pow(s[0], 1/7.0)-math.Pow(s[999], 1/7.0)), 7)
		if !near(k[i], want, 1e-12) {
			t.Errorf("σ_%d = %v, want %v", i, k[i], want)
		}
	}
	for _, ts := range []int{0, 1, 500, 998, 999} {
		if got := timestepOf(s, s[ts]); !near(got, float64(ts), 1e-9) {
			t.Errorf("timestepOf(σ_%d) = %v", ts, got)
		}
	}
}

// TestDDIMStep: one DDIM (η = 0) step of the σ-space implementation equals
// DDIM's own update in x_t space: x̂₀ = (x − √(1−ᾱ_t)ε)/√ᾱ_t,
// x_prev = √ᾱ_prev·x̂₀ + √(1−ᾱ_prev)·ε.
func TestDDIMStep(t *testing.T) {
	ac := AlphasCumprod()
	p, _ := NewPlan("ddim", 4)
	noise := Noise{Seed: 3}
	xt := noise.Stream(0, 16) // x_t at the first step, VP scale
	eps := noise.Stream(1, 16)
	for i := range 4 {
		tt := int(p.Timesteps[i])
		prev := tt - 250
		aPrev := ac[0]
		if prev >= 0 {
			aPrev = ac[prev]
		}
		want := make([]float64, len(xt))
		for j := range xt {
			x0 := (xt[j] - math.Sqrt(1-ac[tt])*eps[j]) / math.Sqrt(ac[tt])
			want[j] = math.Sqrt(aPrev)*x0 + math.Sqrt(1-aPrev)*eps[j]
		}
		x := make([]float64, len(xt))
		for j := range x {
			x[j] = xt[j] / math.Sqrt(ac[tt]) // σ-space state
		}
		s := &Stepper{Plan: p}
		s.Step(i, x, eps, nil)
		for j := range x {
			if got := x[j] * math.Sqrt(aPrev); !near(got, want[j], 1e-12) {
				t.Fatalf("step %d (t=%d): x_prev[%d] = %v, want %v", i, tt, j, got, want[j])
			}
		}
	}
	if !near(p.InitScale, 1/math.Sqrt(ac[751]), 1e-12) || !near(p.FinalScale, math.Sqrt(ac[0]), 1e-12) {
		t.Fatalf("scales %v %v", p.InitScale, p.FinalScale)
	}
}

// TestPointMass: for data that is one point c, the exact ε is (x − c)/σ and
// the probability-flow ODE keeps x = c + σ·z; Euler, DDIM and DPM++ 2M are
// exact on it (each step lands on c + σ_next·z) and end at c.
func TestPointMass(t *testing.T) {
	const c, z = 0.7, -1.3
	for _, name := range []string{"euler", "ddim", "dpmpp_2m_karras"} {
		p, _ := NewPlan(name, 7)
		s := &Stepper{Plan: p}
		x := []float64{c + p.Sigmas[0]*z}
		for i := range p.Timesteps {
			s.Step(i, x, []float64{(x[0] - c) / p.Sigmas[i]}, nil)
			if want := c + p.Sigmas[i+1]*z; !near(x[0], want, 1e-12) {
				t.Fatalf("%s step %d: %v, want %v", name, i, x[0], want)
			}
		}
	}
}

// TestEulerAncestralStep: σ_up = √(σ'²(σ²−σ'²)/σ²), σ_down = √(σ'²−σ_up²),
// x' = x + ε(σ_down − σ) + σ_up·n.
func TestEulerAncestralStep(t *testing.T) {
	p, _ := NewPlan("euler_a", 5)
	s := &Stepper{Plan: p}
	sig, next := p.Sigmas[1], p.Sigmas[2]
	up := math.Sqrt(next * next * (sig*sig - next*next) / (sig * sig))
	down := math.Sqrt(next*next - up*up)
	x, eps, n := []float64{0.5, -2}, []float64{0.25, 1}, []float64{-0.3, 0.9}
	want := []float64{0.5 + 0.25*(down-sig) + up*-0.3, -2 + 1*(down-sig) + up*0.9}
	s.Step(1, x, eps, func() []float64 { return n })
	for j := range x {
		if !near(x[j], want[j], 1e-12) {
			t.Fatalf("x[%d] = %v, want %v", j, x[j], want[j])
		}
	}
	if !near(up*up+down*down, next*next, 1e-12) {
		t.Fatal("σ_up² + σ_down² ≠ σ_next²")
	}
}

// TestDPMSecondOrder: the second DPM++ 2M step uses
// D = (1 + 1/2r)·D_i − (1/2r)·D_{i−1}, r = h_{i−1}/h_i, x' = (σ'/σ)x − (e^{−h} − 1)D.
func TestDPMSecondOrder(t *testing.T) {
	p, _ := NewPlan("dpmpp_2m_karras", 6)
	s := &Stepper{Plan: p}
	x := []float64{3}
	e0, e1 := 0.4, -0.2
	d0 := x[0] - p.Sigmas[0]*e0
	s.Step(0, x, []float64{e0}, nil)
	x1 := x[0]
	d1 := x1 - p.Sigmas[1]*e1
	s.Step(1, x, []float64{e1}, nil)
	lam := func(s float64) float64 { return -math.Log(s) }
	h := lam(p.Sigmas[2]) - lam(p.Sigmas[1])
	r := (lam(p.Sigmas[1]) - lam(p.Sigmas[0])) / h
	D := (1+1/(2*r))*d1 - (1/(2*r))*d0
	want := p.Sigmas[2]/p.Sigmas[1]*x1 - (math.Exp(-h)-1)*D
	if !near(x[0], want, 1e-12) {
		t.Fatalf("x = %v, want %v", x[0], want)
	}
}

func TestPlanBad(t *testing.T) {
	for _, tc := range []struct {
		sampler string
		steps   int
	}{{"euler", 0}, {"euler", -3}, {"heun", 10}, {"ddim", 1001}} {
		if _, err := NewPlan(tc.sampler, tc.steps); err == nil {
			t.Errorf("NewPlan(%q, %d): no error", tc.sampler, tc.steps)
		}
	}
}

// TestImg2ImgTrim follows diffusers: the last ⌊n·strength⌋ steps run.
func TestImg2ImgTrim(t *testing.T) {
	p, _ := NewPlan("euler", 20)
	for _, tc := range []struct {
		strength float64
		steps    int
		first    float64
	}{{1, 20, 951}, {0.75, 15, 701}, {0.5, 10, 451}, {0, 0, 0}} {
		q := p.Img2Img(tc.strength)
		if len(q.Timesteps) != tc.steps || len(q.Sigmas) != tc.steps+1 || (tc.steps > 0 && q.Timesteps[0] != tc.first) {
			t.Errorf("strength %v: %d steps from %v", tc.strength, len(q.Timesteps), q.Timesteps)
		}
	}
}

// TestNoiseDeterministic: the same seed and stream give the same values;
// streams and seeds differ.
func TestNoiseDeterministic(t *testing.T) {
	a, b := Noise{Seed: 42}.Stream(0, 8), Noise{Seed: 42}.Stream(0, 8)
	c, d := Noise{Seed: 42}.Stream(1, 8), Noise{Seed: 43}.Stream(0, 8)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different values")
		}
	}
	if a[0] == c[0] || a[0] == d[0] {
		t.Fatal("streams or seeds collide")
	}
}
