package bindings

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"

	fsggml "github.com/ollama/ollama/fs/ggml"
	"github.com/ollama/ollama/ml"
	"github.com/ollama/ollama/ml/backend/ggml"
)

// One CPU scratch backend for all op tests and benchmarks of the package.
var scratch *Scratch

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var err error
	scratch, err = NewScratch("cpu", 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scratch backend:", err)
		os.Exit(1)
	}
	code := m.Run()
	scratch.Close()
	os.Exit(code)
}

func randn(seed uint64, n int, scale float64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

// compute builds a graph on the scratch backend and returns its output.
func compute(t testing.TB, build func(ctx ml.Context) ml.Tensor) ([]float32, []int) {
	t.Helper()
	ctx := scratch.NewContext()
	defer ctx.Close()
	y := build(ctx)
	ctx.Forward(y).Compute(y)
	return y.Floats(), y.Shape()
}

// opTol is the f32 tolerance of a composed op against its float64
// reference: relative to max|ref|, loose enough for f32 sums over a few
// thousand elements (GroupNorm's statistics) and tight enough to catch any
// indexing or padding mistake, which shows up as O(1) errors.
const opTol = 1e-5

// dims4 pads a ggml shape (which drops trailing 1s) to four dimensions.
func dims4(shape []int) []int {
	for len(shape) < 4 {
		shape = append(shape, 1)
	}
	return shape
}

func assertClose(t *testing.T, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len %d, want %d", len(got), len(want))
	}
	var maxRef, maxDiff float64
	at := 0
	for i := range want {
		maxRef = max(maxRef, math.Abs(float64(want[i])))
		if d := math.Abs(float64(got[i] - want[i])); d > maxDiff || math.IsNaN(d) {
			maxDiff, at = d, i
		}
	}
	if maxDiff > tol*max(maxRef, 1e-12) || math.IsNaN(maxDiff) {
		t.Fatalf("max |Δ| = %g at %d (got %g, want %g) > %g·max|ref| (%g)", maxDiff, at, got[at], want[at], tol, maxRef)
	}
}

func TestGroupNorm(t *testing.T) {
	for _, tc := range []struct {
		s      shape4
		groups int
	}{
		{shape4{7, 5, 12, 2}, 4},
		{shape4{9, 3, 32, 3}, 32},
		{shape4{5, 11, 6, 1}, 1},
	} {
		t.Run(fmt.Sprintf("%v/g%d", tc.s, tc.groups), func(t *testing.T) {
			in := randn(1, tc.s.len(), 3)
			for i := range in {
				in[i] += 2 // a non-zero mean must be removed
			}
			w, b := randn(2, tc.s.C, 1), randn(3, tc.s.C, 1)
			got, _ := compute(t, func(ctx ml.Context) ml.Tensor {
				x := ctx.Input().FromFloats(in, tc.s.W, tc.s.H, tc.s.C, tc.s.N)
				return GroupNorm(ctx, x, tc.groups, 1e-5,
					ctx.Input().FromFloats(w, tc.s.C), ctx.Input().FromFloats(b, tc.s.C))
			})
			assertClose(t, got, refGroupNorm(in, tc.s, tc.groups, 1e-5, w, b), opTol)
		})
	}
}

func TestMaxPool2D(t *testing.T) {
	for _, tc := range []struct {
		s          shape4
		k, st, p   int
		allNegtive bool
	}{
		{shape4{11, 9, 3, 2}, 3, 2, 0, false},
		{shape4{11, 9, 3, 2}, 3, 2, 1, true}, // padded and negative: zeros must not win
		{shape4{8, 13, 2, 1}, 2, 2, 0, true},
		{shape4{7, 7, 4, 3}, 3, 1, 1, false},
		{shape4{16, 10, 2, 2}, 5, 3, 2, true},
	} {
		t.Run(fmt.Sprintf("%v/k%ds%dp%d", tc.s, tc.k, tc.st, tc.p), func(t *testing.T) {
			in := randn(4, tc.s.len(), 1)
			if tc.allNegtive {
				for i := range in {
					in[i] = -1 - float32(math.Abs(float64(in[i])))
				}
			}
			want, o := refMaxPool(in, tc.s, tc.k, tc.st, tc.p)
			got, shape := compute(t, func(ctx ml.Context) ml.Tensor {
				x := ctx.Input().FromFloats(in, tc.s.W, tc.s.H, tc.s.C, tc.s.N)
				return MaxPool2D(ctx, x, tc.k, tc.st, tc.p)
			})
			if fmt.Sprint(dims4(shape)) != fmt.Sprint([]int{o.W, o.H, o.C, o.N}) {
				t.Fatalf("shape %v, want %v", shape, o)
			}
			// m + relu(t − m) can differ from t by one rounding.
			assertClose(t, got, want, 1e-6)
		})
	}
}

func TestUpsample(t *testing.T) {
	for _, tc := range []struct {
		s shape4
		f int
	}{{shape4{5, 3, 4, 2}, 2}, {shape4{3, 7, 2, 1}, 3}} {
		in := randn(5, tc.s.len(), 1)
		want, _ := refUpsample(in, tc.s, tc.f)
		got, _ := compute(t, func(ctx ml.Context) ml.Tensor {
			return Upsample(ctx, ctx.Input().FromFloats(in, tc.s.W, tc.s.H, tc.s.C, tc.s.N), tc.f)
		})
		assertClose(t, got, want, 0) // a copy: exact
	}
}

func TestBatchNormAndFold(t *testing.T) {
	s := shape4{9, 7, 5, 2}
	const oc, k = 6, 3
	in := randn(6, s.len(), 1)
	w, b := randn(7, oc*s.C*k*k, 0.3), randn(8, oc, 0.1)
	mean, gamma, beta := randn(9, oc, 0.5), randn(10, oc, 1), randn(11, oc, 0.5)
	variance := randn(12, oc, 1)
	for i := range variance {
		variance[i] = 0.2 + variance[i]*variance[i]
	}
	const eps = 1e-5
	conv, o := refConv2D(in, s, w, b, oc, k, 2, 1, 1)
	want := refBatchNorm(conv, o, mean, variance, gamma, beta, eps)

	t.Run("graph", func(t *testing.T) {
		got, _ := compute(t, func(ctx ml.Context) ml.Tensor {
			in2 := ctx.Input()
			x := in2.FromFloats(in, s.W, s.H, s.C, s.N)
			y := Conv2D(ctx, x, in2.FromFloats(w, k, k, s.C, oc), in2.FromFloats(b, oc), 2, 1, 1)
			return BatchNorm(ctx, y, in2.FromFloats(mean, oc), in2.FromFloats(variance, oc),
				in2.FromFloats(gamma, oc), in2.FromFloats(beta, oc), eps)
		})
		assertClose(t, got, want, opTol)
	})
	t.Run("folded", func(t *testing.T) {
		wf, bf := FoldBatchNorm(w, b, oc, mean, variance, gamma, beta, eps)
		got, _ := compute(t, func(ctx ml.Context) ml.Tensor {
			in2 := ctx.Input()
			x := in2.FromFloats(in, s.W, s.H, s.C, s.N)
			return Conv2D(ctx, x, in2.FromFloats(wf, k, k, s.C, oc), in2.FromFloats(bf, oc), 2, 1, 1)
		})
		assertClose(t, got, want, opTol)
	})
}

func TestConv2D(t *testing.T) {
	for _, tc := range []struct {
		s               shape4
		oc, k, st, p, d int
	}{
		{shape4{13, 9, 3, 2}, 4, 3, 1, 1, 1},
		{shape4{13, 9, 3, 2}, 5, 11, 4, 2, 1}, // AlexNet's first layer shape
		{shape4{10, 12, 2, 1}, 3, 3, 1, 2, 2}, // dilated
	} {
		t.Run(fmt.Sprintf("%v/oc%dk%ds%dp%dd%d", tc.s, tc.oc, tc.k, tc.st, tc.p, tc.d), func(t *testing.T) {
			in := randn(13, tc.s.len(), 1)
			w, b := randn(14, tc.oc*tc.s.C*tc.k*tc.k, 0.3), randn(15, tc.oc, 0.1)
			want, _ := refConv2D(in, tc.s, w, b, tc.oc, tc.k, tc.st, tc.p, tc.d)
			got, _ := compute(t, func(ctx ml.Context) ml.Tensor {
				in2 := ctx.Input()
				return Conv2D(ctx, in2.FromFloats(in, tc.s.W, tc.s.H, tc.s.C, tc.s.N),
					in2.FromFloats(w, tc.k, tc.k, tc.s.C, tc.oc), in2.FromFloats(b, tc.oc), tc.st, tc.p, tc.d)
			})
			assertClose(t, got, want, opTol)
		})
	}
}

// TestMulmatColumns: for 1 to MulmatColumnsMax columns, every column of
// MulmatColumns is the bytes of the weight times that column alone, for
// f32, f16, q8_0 and q4_0 weights (the last two through qdot.c, where the
// build has it; M is not a multiple of ggml's 16-row chunks), and the
// values are the weight times x up to the weight type's rounding (against
// float64 on the dequantized weights: 1e-5·max|ref| for f32 weights; f16
// and the quantized types also round x, to f16 or q8_0).
func TestMulmatColumns(t *testing.T) {
	const k, m = 256, 52
	wf := randn(801, k*m, 0.5)
	types := []struct {
		name string
		dt   ml.DType
		ft   fsggml.TensorType
		tol  float64
	}{
		{"f32", ml.DTypeF32, fsggml.TensorTypeF32, 1e-5},
		{"f16", ml.DTypeF16, fsggml.TensorTypeF16, 2e-3},
		{"q8_0", ml.DTypeQ80, fsggml.TensorTypeQ8_0, 2e-2},
		{"q4_0", ml.DTypeQ40, fsggml.TensorTypeQ4_0, 2e-2},
	}
	differs := false
	for _, ty := range types {
		raw := ggml.Quantize(ty.ft, wf, []uint64{k, m})
		// The weight's values as stored: its product with the unit vectors.
		deq := make([]float64, k*m)
		for n := 1; n <= MulmatColumnsMax+1; n++ {
			x := randn(uint64(810+n), k*n, 1)
			run := func(f func(ctx ml.Context, w, x ml.Tensor) ml.Tensor, cols []float32, n int) []float32 {
				got, shape := compute(t, func(ctx ml.Context) ml.Tensor {
					in := ctx.Input()
					return f(ctx, in.FromBytes(ty.dt, raw, k, m), in.FromFloats(cols, k, n))
				})
				if shape[0] != m || (n > 1 && shape[1] != n) {
					t.Fatalf("%s n=%d: shape %v, want [%d %d]", ty.name, n, shape, m, n)
				}
				return got
			}
			if n == 1 {
				eye := make([]float32, k*k)
				for i := range k {
					eye[i*k+i] = 1
				}
				for i, v := range run(func(ctx ml.Context, w, x ml.Tensor) ml.Tensor { return w.Mulmat(ctx, x) }, eye, k) {
					deq[(i%m)*k+i/m] = float64(v) // column i/m: row i%m of w at position i/m
				}
			}
			got := run(func(ctx ml.Context, w, x ml.Tensor) ml.Tensor {
				if want := (ty.dt == ml.DTypeQ80 || ty.dt == ml.DTypeQ40) && n <= MulmatColumnsMax && qdotAvailable(); qdotTakes(w, x) != want {
					t.Errorf("%s n=%d: qdot.c takes the product: %v, want %v", ty.name, n, !want, want)
				}
				return MulmatColumns(ctx, w, x)
			}, x, n)
			plain := run(func(ctx ml.Context, w, x ml.Tensor) ml.Tensor { return w.Mulmat(ctx, x) }, x, n)
			for j := range n {
				alone := run(func(ctx ml.Context, w, x ml.Tensor) ml.Tensor { return w.Mulmat(ctx, x) }, x[j*k:(j+1)*k], 1)
				if !slices.Equal(got[j*m:(j+1)*m], alone) && n <= MulmatColumnsMax {
					t.Errorf("%s n=%d column %d: not the bytes of the column alone", ty.name, n, j)
				}
				if !slices.Equal(plain[j*m:(j+1)*m], alone) {
					differs = true
				}
				ref := make([]float32, m)
				for r := range m {
					var s float64
					for i := range k {
						s += deq[r*k+i] * float64(x[j*k+i])
					}
					ref[r] = float32(s)
				}
				assertClose(t, got[j*m:(j+1)*m], ref, ty.tol)
			}
		}
	}
	t.Logf("ggml's 2-D product differs from one column at a time for some type: %v", differs)
}

// TestQdotTraits pins qdot.c's mirror of ggml's CPU type traits: q8_0 and
// q4_0 weights take columns quantized to q8_0 (type 8), one row per dot
// product (x86; the ARM int8 kernels take two, where qdot.c is not built).
func TestQdotTraits(t *testing.T) {
	for _, dt := range []ml.DType{ml.DTypeQ80, ml.DTypeQ40} {
		if vt, rows := qdotTraits(dt); vt != 8 || (runtime.GOARCH == "amd64" && rows != 1) {
			t.Errorf("dtype %v: vec_dot_type %d, nrows %d; want 8 and 1 (engine version changed?)", dt, vt, rows)
		}
	}
}
