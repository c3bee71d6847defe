package bindings

import "math"

// Plain-Go references for the composed ops, on NCHW-indexed slices laid out
// as ggml's [W, H, C, N] (x index = ((n·C + c)·H + y)·W + x).

type shape4 struct{ W, H, C, N int }

func (s shape4) len() int              { return s.W * s.H * s.C * s.N }
func (s shape4) at(x, y, c, n int) int { return ((n*s.C+c)*s.H+y)*s.W + x }

func refGroupNorm(in []float32, s shape4, groups int, eps float32, w, b []float32) []float32 {
	out := make([]float32, len(in))
	per := s.C / groups
	for n := range s.N {
		for g := range groups {
			var sum, sq float64
			cnt := float64(per * s.H * s.W)
			for c := g * per; c < (g+1)*per; c++ {
				for y := range s.H {
					for x := range s.W {
						v := float64(in[s.at(x, y, c, n)])
						sum += v
						sq += v * v
					}
				}
			}
			mean := sum / cnt
			variance := sq/cnt - mean*mean
			inv := 1 / math.Sqrt(variance+float64(eps))
			for c := g * per; c < (g+1)*per; c++ {
				for y := range s.H {
					for x := range s.W {
						i := s.at(x, y, c, n)
						out[i] = float32((float64(in[i])-mean)*inv*float64(w[c]) + float64(b[c]))
					}
				}
			}
		}
	}
	return out
}

func refMaxPool(in []float32, s shape4, k, st, p int) ([]float32, shape4) {
	o := shape4{(s.W+2*p-k)/st + 1, (s.H+2*p-k)/st + 1, s.C, s.N}
	out := make([]float32, o.len())
	for n := range s.N {
		for c := range s.C {
			for oy := range o.H {
				for ox := range o.W {
					m := float32(math.Inf(-1))
					for dy := range k {
						for dx := range k {
							x, y := ox*st-p+dx, oy*st-p+dy
							if x < 0 || y < 0 || x >= s.W || y >= s.H {
								continue
							}
							m = max(m, in[s.at(x, y, c, n)])
						}
					}
					out[o.at(ox, oy, c, n)] = m
				}
			}
		}
	}
	return out, o
}

func refUpsample(in []float32, s shape4, f int) ([]float32, shape4) {
	o := shape4{s.W * f, s.H * f, s.C, s.N}
	out := make([]float32, o.len())
	for n := range o.N {
		for c := range o.C {
			for y := range o.H {
				for x := range o.W {
					out[o.at(x, y, c, n)] = in[s.at(x/f, y/f, c, n)]
				}
			}
		}
	}
	return out, o
}

func refBatchNorm(in []float32, s shape4, mean, variance, w, b []float32, eps float32) []float32 {
	out := make([]float32, len(in))
	for n := range s.N {
		for c := range s.C {
			inv := 1 / math.Sqrt(float64(variance[c])+float64(eps))
			for y := range s.H {
				for x := range s.W {
					i := s.at(x, y, c, n)
					out[i] = float32((float64(in[i])-float64(mean[c]))*inv*float64(w[c]) + float64(b[c]))
				}
			}
		}
	}
	return out
}

// refConv2D: weight is PyTorch [OC, C, K, K] (the same bytes as ggml's
// [K, K, C, OC]).
func refConv2D(in []float32, s shape4, w, b []float32, oc, k, st, p, d int) ([]float32, shape4) {
	o := shape4{(s.W+2*p-d*(k-1)-1)/st + 1, (s.H+2*p-d*(k-1)-1)/st + 1, oc, s.N}
	out := make([]float32, o.len())
	for n := range s.N {
		for co := range oc {
			for oy := range o.H {
				for ox := range o.W {
					acc := float64(b[co])
					for ci := range s.C {
						for ky := range k {
							for kx := range k {
								x, y := ox*st-p+kx*d, oy*st-p+ky*d
								if x < 0 || y < 0 || x >= s.W || y >= s.H {
									continue
								}
								acc += float64(in[s.at(x, y, ci, n)]) * float64(w[((co*s.C+ci)*k+ky)*k+kx])
							}
						}
					}
					out[o.at(ox, oy, co, n)] = float32(acc)
				}
			}
		}
	}
	return out, o
}
