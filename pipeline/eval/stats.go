package eval

import (
	"math"
	"slices"
)

// Stat is the mean of a sample with its 95% confidence interval.
type Stat struct {
	N    int
	Mean float64
	SD   float64 // sample standard deviation (n−1); NaN for n < 2
	// CI95 is the half-width of the 95% confidence interval of the mean,
	// t(0.975, n−1)·SD/√n (Student t); NaN for n < 2.
	CI95 float64
}

// SummarizeValues computes a Stat. Non-finite values must be filtered out
// first. The values are summed in ascending order, so the result does not
// depend on the order of the rows (a merged or sharded sweep gives the same
// bytes as an unsharded one).
func SummarizeValues(xs []float64) Stat {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	s := Stat{N: len(xs), Mean: math.NaN(), SD: math.NaN(), CI95: math.NaN()}
	if len(xs) == 0 {
		return s
	}
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	s.Mean = sum / float64(len(xs))
	if len(xs) < 2 {
		return s
	}
	ss := 0.0
	for _, x := range xs {
		d := x - s.Mean
		ss += d * d
	}
	s.SD = math.Sqrt(ss / float64(len(xs)-1))
	s.CI95 = StudentTQuantile(0.975, float64(len(xs)-1)) * s.SD / math.Sqrt(float64(len(xs)))
	return s
}

// StudentTQuantile returns t such that P(T ≤ t) = p for Student's t with nu
// degrees of freedom (0 < p < 1, nu > 0), by bisection on the CDF; accurate
// to ~1e-12 relative.
func StudentTQuantile(p, nu float64) float64 {
	if !(p > 0 && p < 1) || !(nu > 0) {
		return math.NaN()
	}
	if p == 0.5 {
		return 0
	}
	if p < 0.5 {
		return -StudentTQuantile(1-p, nu)
	}
	lo, hi := 0.0, 1.0
	for StudentTCDF(hi, nu) < p {
		lo, hi = hi, hi*2
		if hi > 1e300 {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := 0.5 * (lo + hi)
		if StudentTCDF(mid, nu) < p {
			lo = mid
		} else {
			hi = mid
		}
		if hi-lo <= 1e-14*hi {
			break
		}
	}
	return 0.5 * (lo + hi)
}

// StudentTCDF is P(T ≤ t) for Student's t with nu degrees of freedom:
// for t ≥ 0, 1 − I_x(nu/2, 1/2)/2 with x = nu/(nu+t²).
func StudentTCDF(t, nu float64) float64 {
	x := nu / (nu + t*t)
	tail := 0.5 * regIncBeta(nu/2, 0.5, x)
	if t >= 0 {
		return 1 - tail
	}
	return tail
}

// regIncBeta is the regularized incomplete beta function I_x(a, b), by its
// continued fraction (modified Lentz), using the symmetry
// I_x(a,b) = 1 − I_{1−x}(b,a) where the fraction converges slowly.
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	f := d
	for m := 1; m <= 1000; m++ {
		fm := float64(m)
		// even step
		num := fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		f *= d * c
		// odd step
		num = -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))
		d = 1 + num*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + num/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		f *= delta
		if math.Abs(delta-1) < 1e-15 {
			break
		}
	}
	return f
}
