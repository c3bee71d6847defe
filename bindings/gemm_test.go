package bindings

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"testing"
	"unsafe"

	"github.com/ollama/ollama/ml"
	"github.com/x448/float16"
)

// gemmVariantNames are the micro-kernels of gemm.c, by id (MSC_GEMM_*).
var gemmVariantNames = []string{"portable", "avx2", "avx512"}

// refGemm is the float64 product c[n*m+i] = Σ_k a[i*k+…]·b[n*k+…] and, for
// the tolerance, s[n*m+i] = Σ_k |a·b|.
func refGemm(m, n, k int, a, b []float32) (c, s []float64) {
	c, s = make([]float64, m*n), make([]float64, m*n)
	for j := range n {
		bj := b[j*k : (j+1)*k]
		for i := range m {
			ai := a[i*k : (i+1)*k]
			var sum, abs float64
			for p := range k {
				v := float64(ai[p]) * float64(bj[p])
				sum += v
				abs += math.Abs(v)
			}
			c[j*m+i], s[j*m+i] = sum, abs
		}
	}
	return c, s
}

// gemmTol is the allowed |Δ| of one f32 element against the float64
// reference: λ·√K·u·Σ_k|a_k·b_k| with u = 2⁻²⁴ and λ = 4. Each of the K
// roundings of the running sum (one per FMA; two per step in the portable
// kernel without FMA) is at most u times a partial sum ≤ Σ|a·b|, and
// independent-sign rounding errors add like a random walk (√K, Higham and
// Mary's probabilistic bound) rather than the worst case K; λ = 4 leaves
// room for the tail. A wrong index, a missed k or an unwritten element is
// an error of the order of a whole term |a·b|, far above this for every K
// tested (at K = 4608: 1.6e-5 of Σ|a·b|).
func gemmTol(k int, absSum float64) float64 {
	return 4 * math.Sqrt(float64(k)) * 0x1p-24 * absSum
}

// TestGemmKernel: every micro-kernel this CPU runs, at 1–4 threads (each
// share computed in turn, as ggml's threads would), equals the float64
// reference within gemmTol on shapes that are no multiple of any tile or
// block (MR 32/16/8, NR 12/6/4, KC 384, MC 384, NC 1020), with K = 4608
// (FCN's 3×3 × 512) among them; the bytes do not depend on the thread
// count; and the AVX2 and AVX-512 kernels give the same bytes (both are
// the same FMA chain over k).
func TestGemmKernel(t *testing.T) {
	cases := []struct{ m, n, k int }{
		{1, 1, 1}, {3, 1, 17}, {1, 3, 31}, {17, 31, 3}, {31, 17, 64}, {64, 64, 64},
		{100, 257, 31}, {257, 100, 17}, {33, 64, 4608}, {1, 100, 4608}, {100, 1, 1000},
		{1000, 13, 100}, {13, 1100, 100}, {400, 1100, 385}, {32, 12, 384}, {16, 6, 1},
	}
	for i, c := range cases {
		a := randn(uint64(100+i), c.m*c.k, 1)
		b := randn(uint64(200+i), c.n*c.k, 1)
		ref, abs := refGemm(c.m, c.n, c.k, a, b)
		var fma []float32 // the first FMA kernel's result
		for v, name := range gemmVariantNames {
			if !gemmSupported(v) {
				t.Logf("%s kernel: not in this build or not on this CPU", name)
				continue
			}
			var one []float32
			for nth := 1; nth <= 4; nth++ {
				t.Run(fmt.Sprintf("%dx%dx%d/%s/threads=%d", c.m, c.n, c.k, name, nth), func(t *testing.T) {
					got := make([]float32, c.m*c.n)
					for j := range got {
						got[j] = float32(math.NaN()) // unwritten elements show
					}
					for ith := range nth {
						if rc := gemmDirect(v, c.m, c.n, c.k, a, b, nil, got, ith, nth); rc != 0 {
							t.Fatalf("msc_gemm: %d", rc)
						}
					}
					for j := range got {
						if d := math.Abs(float64(got[j]) - ref[j]); !(d <= gemmTol(c.k, abs[j])) {
							t.Fatalf("element m=%d n=%d: %g, want %g (|Δ| %g > %g)", j%c.m, j/c.m, got[j], ref[j], d, gemmTol(c.k, abs[j]))
						}
					}
					if one == nil {
						one = got
					} else if !sameBits(got, one) {
						t.Fatalf("%d threads: bytes differ from 1 thread", nth)
					}
				})
			}
			if v == 0 || one == nil {
				continue
			}
			if fma == nil {
				fma = one
			} else if !sameBits(fma, one) {
				t.Errorf("%dx%dx%d: %s kernel's bytes differ from the other FMA kernel's", c.m, c.n, c.k, name)
			}
		}
	}
}

func sameBits(x, y []float32) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return false
		}
	}
	return true
}

// TestGemmKernelZeroK: K = 0 gives zeros (an empty sum), not garbage.
func TestGemmKernelZeroK(t *testing.T) {
	got := []float32{1, 2, 3, 4, 5, 6}
	if rc := gemmDirect(0, 2, 3, 0, nil, nil, nil, got, 0, 1); rc != 0 {
		t.Fatal(rc)
	}
	for i, v := range got {
		if v != 0 {
			t.Fatalf("element %d: %g, want 0", i, v)
		}
	}
}

// withGemm runs f with gemm.c taking every eligible product (no size
// cut-off) and variant v (−1: the best).
func withGemm(v int, f func()) {
	oldV, oldW := gemmVariant, gemmMinWork
	gemmVariant, gemmMinWork = v, 0
	defer func() { gemmVariant, gemmMinWork = oldV, oldW }()
	f()
}

// TestMulmatF32: the custom op through ggml (the CPU backend's threads)
// equals the float64 reference within gemmTol and ggml's own mul_mat
// within the same bound, for each kernel variant.
func TestMulmatF32(t *testing.T) {
	cases := []struct{ m, n, k int }{{1, 1, 1}, {3, 17, 31}, {64, 100, 257}, {31, 257, 64}, {17, 3, 1000}}
	for i, c := range cases {
		a := randn(uint64(300+i), c.m*c.k, 1)
		b := randn(uint64(400+i), c.n*c.k, 1)
		ref, abs := refGemm(c.m, c.n, c.k, a, b)
		ggmlOut, _ := compute(t, func(ctx ml.Context) ml.Tensor {
			in := ctx.Input()
			return in.FromFloats(a, c.k, c.m).Mulmat(ctx, in.FromFloats(b, c.k, c.n))
		})
		for v, name := range gemmVariantNames {
			if !gemmSupported(v) {
				continue
			}
			t.Run(fmt.Sprintf("%dx%dx%d/%s", c.m, c.n, c.k, name), func(t *testing.T) {
				withGemm(v, func() {
					defer freshScratch(t)()
					got, shape := compute(t, func(ctx ml.Context) ml.Tensor {
						in := ctx.Input()
						wa, xb := in.FromFloats(a, c.k, c.m), in.FromFloats(b, c.k, c.n)
						if !gemmTakes(wa, xb) {
							t.Fatal("gemmTakes: false for f32 host weights")
						}
						return MulmatF32(ctx, wa, xb)
					})
					if fmt.Sprint(dims4(shape)) != fmt.Sprint([]int{c.m, c.n, 1, 1}) {
						t.Fatalf("shape %v, want [%d %d]", shape, c.m, c.n)
					}
					for j := range got {
						tol := gemmTol(c.k, abs[j])
						if d := math.Abs(float64(got[j]) - ref[j]); !(d <= tol) {
							t.Fatalf("element %d: %g, want %g", j, got[j], ref[j])
						}
						if d := math.Abs(float64(got[j] - ggmlOut[j])); !(d <= 2*tol) {
							t.Fatalf("element %d: %g, ggml's mul_mat %g", j, got[j], ggmlOut[j])
						}
					}
				})
			})
		}
	}
}

// freshScratch points scratch at a new CPU backend until the returned
// function runs: its graph buffers do not hold an earlier graph's results,
// so an element the custom op failed to write cannot pass for a right one
// left there by ggml's mul_mat over the same shapes.
func freshScratch(t *testing.T) func() {
	s, err := NewScratch("cpu", 0)
	if err != nil {
		t.Fatal(err)
	}
	old := scratch
	scratch = s
	return func() { scratch = old; s.Close() }
}

// TestMulmatF32Threads: the same bytes at 1, 2 and 3 CPU threads.
func TestMulmatF32Threads(t *testing.T) {
	const m, n, k = 70, 301, 500
	a, b := randn(7, m*k, 1), randn(8, n*k, 1)
	var first []float32
	for _, threads := range []int{1, 2, 3} {
		s, err := NewScratch("cpu", threads)
		if err != nil {
			t.Fatal(err)
		}
		withGemm(-1, func() {
			ctx := s.NewContext()
			in := ctx.Input()
			y := MulmatF32(ctx, in.FromFloats(a, k, m), in.FromFloats(b, k, n))
			ctx.Forward(y).Compute(y)
			got := y.Floats()
			ctx.Close()
			if first == nil {
				first = got
			} else if !sameBits(got, first) {
				t.Errorf("%d threads: bytes differ from 1 thread", threads)
			}
		})
		s.Close()
	}
}

// TestMulmatF32Fallback: where the custom op is not right, MulmatF32 is
// ggml's mul_mat, bit for bit: an f16 weight, a non-contiguous weight
// (rows of a wider matrix), a weight computed in the graph (no buffer yet: it could live on
// any backend), a 3-D operand, and a product under the size cut-off.
func TestMulmatF32Fallback(t *testing.T) {
	const m, n, k = 8, 6, 16
	a, b := randn(9, m*k, 1), randn(10, n*k, 1)
	cases := []struct {
		name  string
		noCut bool // no size cut-off
		build func(ctx ml.Context) (ml.Tensor, ml.Tensor)
	}{
		{"f16 weight", true, func(ctx ml.Context) (ml.Tensor, ml.Tensor) {
			in := ctx.Input()
			return in.FromFloats(a, k, m).Cast(ctx, ml.DTypeF16), in.FromFloats(b, k, n)
		}},
		{"strided rows of a", true, func(ctx ml.Context) (ml.Tensor, ml.Tensor) {
			in := ctx.Input()
			w := in.FromFloats(randn(11, (k+3)*m, 1), k+3, m)
			return w.View(ctx, 0, k, w.Stride(1), m), in.FromFloats(b, k, n)
		}},
		{"computed weight", true, func(ctx ml.Context) (ml.Tensor, ml.Tensor) {
			in := ctx.Input()
			return in.FromFloats(a, k, m).Scale(ctx, 0.5), in.FromFloats(b, k, n)
		}},
		{"3-D b", true, func(ctx ml.Context) (ml.Tensor, ml.Tensor) {
			in := ctx.Input()
			return in.FromFloats(a, k, m), in.FromFloats(b, k, 3, 2)
		}},
		{"under the cut-off", false, func(ctx ml.Context) (ml.Tensor, ml.Tensor) {
			in := ctx.Input()
			return in.FromFloats(a, k, m), in.FromFloats(b, k, n)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			oldW := gemmMinWork
			if c.noCut {
				gemmMinWork = 0
			}
			defer func() { gemmMinWork = oldW }()
			want, _ := compute(t, func(ctx ml.Context) ml.Tensor {
				wa, xb := c.build(ctx)
				return wa.Mulmat(ctx, xb)
			})
			got, _ := compute(t, func(ctx ml.Context) ml.Tensor {
				wa, xb := c.build(ctx)
				if gemmTakes(wa, xb) {
					t.Fatal("gemmTakes: true")
				}
				return MulmatF32(ctx, wa, xb)
			})
			if !sameBits(got, want) {
				t.Fatal("differs from ggml's mul_mat")
			}
		})
	}
}

// TestGemmTensorLayout pins gemm.c's mirror of struct ggml_tensor to the
// engine's: type, ne and nb as the Go side sees them, data as
// ggml_get_data returns it, and the custom op's sources.
func TestGemmTensorLayout(t *testing.T) {
	ctx := scratch.NewContext()
	defer ctx.Close()
	in := ctx.Input()
	a := in.FromFloats(make([]float32, 5*3), 5, 3)
	h := in.FromFloats(make([]float32, 4*2*3), 4, 2, 3).Cast(ctx, ml.DTypeF16)
	for _, x := range []struct {
		t   ml.Tensor
		typ int64
	}{{a, 0}, {h, 1}} {
		p := gemmProbe(x.t)
		if p.typ != x.typ {
			t.Errorf("type %d, want %d", p.typ, x.typ)
		}
		for i := range 4 {
			if p.ne[i] != int64(x.t.Dim(i)) || p.nb[i] != int64(x.t.Stride(i)) {
				t.Fatalf("dim %d: ne %d nb %d, want %d %d", i, p.ne[i], p.nb[i], x.t.Dim(i), x.t.Stride(i))
			}
		}
		if !gemmDataOK(x.t) {
			t.Error("data is not ggml_get_data's")
		}
	}
	if gemmProbe(a).data == nil {
		t.Error("nil data for an allocated input")
	}
	b := in.FromFloats(make([]float32, 5*4), 5, 4)
	var y ml.Tensor
	withGemm(-1, func() { y = MulmatF32(ctx, a, b) })
	p := gemmProbe(y)
	if p.src0 != unsafe.Pointer(cTensor(a)) || p.src1 != unsafe.Pointer(cTensor(b)) {
		t.Error("custom op's sources are not a and b")
	}
	if p.ne != [4]int64{3, 4, 1, 1} {
		t.Errorf("custom op ne %v, want [3 4 1 1]", p.ne)
	}
}

// TestConvThroughGemm reruns the conv path's tests (their float64
// references and tolerances) with gemm.c taking every product, whatever
// its size: their shapes are below MulmatF32's cut-off, so the plain runs
// test the fallback and these the custom op, with each kernel variant.
func TestConvThroughGemm(t *testing.T) {
	for v, name := range gemmVariantNames {
		if !gemmSupported(v) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			withGemm(v, func() {
				defer freshScratch(t)()
				t.Run("Conv2DCF", TestConv2DCF)
				t.Run("Conv2DGEMM", TestConv2DGEMM)
			})
		})
	}
}

// TestGemmConvKernel: msc_conv (the implicit-im2col conv) equals a
// float64 channel-first convolution within gemmTol for every kernel and
// 1–3 threads, with the same bytes at each thread count, on convs whose
// channel count is above KC (a tap's channels split between k blocks) and
// no multiple of anything, strided, padded and dilated, in batches.
func TestGemmConvKernel(t *testing.T) {
	cases := []struct{ c, w, h, nb, k, oc, s, p, d int }{
		{300, 9, 7, 2, 3, 40, 1, 2, 2},
		{5, 11, 8, 1, 5, 3, 2, 1, 1},
		{33, 6, 5, 3, 1, 17, 2, 0, 1},
		{260, 5, 4, 1, 3, 9, 2, 1, 1},
		{3, 13, 11, 1, 7, 8, 2, 3, 1},
	}
	for i, c := range cases {
		x := randn(uint64(500+i), c.c*c.w*c.h*c.nb, 1)
		w := randn(uint64(600+i), c.c*c.k*c.k*c.oc, 1)
		ow := (c.w+2*c.p-c.d*(c.k-1)-1)/c.s + 1
		oh := (c.h+2*c.p-c.d*(c.k-1)-1)/c.s + 1
		kk := c.c * c.k * c.k
		ref, abs := make([]float64, c.oc*ow*oh*c.nb), make([]float64, c.oc*ow*oh*c.nb)
		for img := range c.nb {
			for oy := range oh {
				for ox := range ow {
					for f := range c.oc {
						var sum, sa float64
						for ky := range c.k {
							for kx := range c.k {
								ix, iy := ox*c.s-c.p+kx*c.d, oy*c.s-c.p+ky*c.d
								if ix < 0 || ix >= c.w || iy < 0 || iy >= c.h {
									continue
								}
								for ci := range c.c {
									v := float64(x[((img*c.h+iy)*c.w+ix)*c.c+ci]) * float64(w[((f*c.k+ky)*c.k+kx)*c.c+ci])
									sum += v
									sa += math.Abs(v)
								}
							}
						}
						j := ((img*oh+oy)*ow+ox)*c.oc + f
						ref[j], abs[j] = sum, sa
					}
				}
			}
		}
		for v, name := range gemmVariantNames {
			if !gemmSupported(v) {
				continue
			}
			var one []float32
			for nth := 1; nth <= 3; nth++ {
				t.Run(fmt.Sprintf("%v/%s/threads=%d", c, name, nth), func(t *testing.T) {
					got := make([]float32, len(ref))
					for j := range got {
						got[j] = float32(math.NaN())
					}
					for ith := range nth {
						if rc := gemmConvDirect(v, c.oc, w, x, c.c, c.w, c.h, c.nb, c.k, c.k, c.s, c.p, c.d, got, ith, nth); rc != 0 {
							t.Fatal(rc)
						}
					}
					for j := range got {
						if d := math.Abs(float64(got[j]) - ref[j]); !(d <= gemmTol(kk, abs[j])) {
							t.Fatalf("element %d: %g, want %g", j, got[j], ref[j])
						}
					}
					if one == nil {
						one = got
					} else if !sameBits(got, one) {
						t.Fatalf("%d threads: bytes differ from 1 thread", nth)
					}
				})
			}
		}
	}
}

// TestGemmBias: the bias fused into the write-back gives exactly the bytes
// of the product followed by a separate f32 add, for every kernel, at 1–3
// threads, K below and above KC (the bias after the last k block only), K = 0.
func TestGemmBias(t *testing.T) {
	for i, c := range []struct{ m, n, k int }{{37, 29, 300}, {5, 50, 17}, {64, 12, 600}, {3, 4, 0}} {
		a, b := randn(uint64(700+i), c.m*c.k, 1), randn(uint64(800+i), c.n*c.k, 1)
		bias := randn(uint64(900+i), c.m, 1)
		for v, name := range gemmVariantNames {
			if !gemmSupported(v) {
				continue
			}
			plain := make([]float32, c.m*c.n)
			gemmDirect(v, c.m, c.n, c.k, a, b, nil, plain, 0, 1)
			for j := range plain {
				plain[j] += bias[j%c.m]
			}
			for nth := 1; nth <= 3; nth++ {
				got := make([]float32, c.m*c.n)
				for ith := range nth {
					gemmDirect(v, c.m, c.n, c.k, a, b, bias, got, ith, nth)
				}
				if !sameBits(got, plain) {
					t.Errorf("%v %s threads=%d: fused bias differs from product + bias", c, name, nth)
				}
			}
		}
	}
}

// TestConvGemmF16Weight: a conv with f16 weights goes through the implicit
// conv (the kernel converted to f32 in the reorder copy) and gives exactly
// the bytes of the same conv with f32 weights holding the f16 values, for
// 1×1, strided 1×1 and 3×3 dilated kernels; ggml's f16 mul_mat (rounding
// the activations to f16) would not.
func TestConvGemmF16Weight(t *testing.T) {
	cases := []struct{ k, stride, pad, dil int }{{1, 1, 0, 1}, {1, 2, 0, 1}, {3, 1, 2, 2}}
	const w, h, c, n, oc = 9, 7, 20, 2, 24
	for i, tc := range cases {
		x := randn(uint64(700+i), w*h*c*n, 1)
		wt := randn(uint64(710+i), tc.k*tc.k*c*oc, 0.3)
		b := randn(uint64(720+i), oc, 0.1)
		half := make([]byte, 2*len(wt))
		for j, v := range wt {
			f := float16.Fromfloat32(v)
			binary.LittleEndian.PutUint16(half[2*j:], f.Bits())
			wt[j] = f.Float32() // the f32 weights hold the f16 values
		}
		conv := func(f16 bool) []float32 {
			var out []float32
			withGemm(gemmBest, func() {
				got, _ := compute(t, func(ctx ml.Context) ml.Tensor {
					in := ctx.Input()
					kern := in.FromFloats(wt, tc.k, tc.k, c, oc)
					if f16 {
						kern = in.FromBytes(ml.DTypeF16, half, tc.k, tc.k, c, oc)
					}
					return Conv2DCF(ctx, in.FromFloats(x, c, w, h, n), kern, in.FromFloats(b, oc), tc.stride, tc.pad, tc.dil)
				})
				out = got
			})
			return out
		}
		if got, want := conv(true), conv(false); !slices.Equal(got, want) {
			t.Errorf("k=%d stride=%d dilation=%d: f16 weights differ from f32 weights with the same values", tc.k, tc.stride, tc.dil)
		}
	}
}
