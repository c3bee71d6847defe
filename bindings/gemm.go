package bindings

// The conv path's own f32 matrix product (gemm.c), a ggml custom op.
//
// Why: FCN-ResNet50 spent 75% of its time in llamafile's tinyBLAS f32
// kernel, which tiles registers but neither packs nor blocks for the
// caches (~58 GFLOP/s a thread with AVX2, ~75 with AVX-512 on this
// machine's Xeon). gemm.c is the Goto/BLIS scheme: a KC×NR panel of b and
// an MC×KC block of a are packed into contiguous aligned buffers (zero
// padded at the edges) and a register-tiled MR×NR micro-kernel of
// broadcast FMAs runs over them (AVX-512F 32×12, AVX2+FMA 16×6, chosen at
// run time with __builtin_cpu_supports so a plain `go build` gets them
// too; a portable C 8×4 kernel elsewhere).
//
// Threads: the op runs on the CPU backend's threads (ggml_custom_4d with
// GGML_N_TASKS_MAX); with no barrier inside a custom op, thread i of n
// owns the i-th n-th of the columns of the result (whole NR-panels; the
// rows instead when there are too few panels), packs its part of b (the
// large operand of a conv product: im2col columns or activations, 4225 ×
// 4608 floats for FCN's layer4 3×3) and all of a (the weight, 512 × 4608:
// packing it twice costs about 1/(2·N/n) of the work, under 1% there).
// Scratch: 64 slots of packing buffers, each claimed by one thread for one
// call with an atomic flag and kept (they only grow, to at most 4.4 MiB;
// slots rather than thread-local buffers, so that nothing depends on which
// OS threads run the op: ggml's per-graph workers or threadpool.go's pool);
// a malloc and free per call instead
// cost 2.5% of the GEMM's samples in page faults (perf).
//
// Convolutions (msc_conv, convCFGemm): b is the virtual im2col matrix of a
// channel-first input, k = c + C·(kx + KW·ky), packed straight from the
// input tap by tap (a tap's C values are contiguous), zeros outside it; the
// kernel's taps are reordered channel-first to match (a copy in the graph).
// Both ops take an optional bias, added in the write-back after the whole
// sum (the bytes of a separate add, TestGemmBias).
//
// Figures (2-core Xeon, AVX-512, shared; BenchmarkGemmVsGGML, -march=
// x86-64-v4, GFLOP/s, 3 runs): FCN layer4's 3×3 product (M 512, K 4608,
// N 4225) 134–140 at one thread against ggml's (tinyBLAS) 91–111, 240–264
// at two against 209–212; layer1's 1×1 (M 256, K 64, N 16900) 115–133
// against 37–41; AlexNet's conv2 (M 192, K 1600, N 7938) 97–115 against
// 102–112. The peak of a register-only FMA loop here is 168 a thread.
// Blocking: gemm.c's comment.

// Determinism: every element is the one chain of fused multiply-adds over
// k = 0…K−1 in order (the KC blocks reload the partial sums), whatever
// the thread count, the split or the tile; the bytes do not depend on the
// threads (TestMulmatF32Threads). The AVX2 and AVX-512 kernels give the
// same bytes too; the portable one may not (no FMA on baseline x86-64).

/*
#cgo CFLAGS: -O3
#include "gemm.h"
*/
import "C"

import (
	"unsafe"

	"github.com/ollama/ollama/ml"
)

// gemmVariant, when ≥ 0, forces a micro-kernel (tests: C.MSC_GEMM_*);
// -1 picks the widest this CPU runs.
var gemmVariant = -1

// gemmMinWork is the least M·N·K that MulmatF32 takes (smaller products
// stay on ggml's mul_mat); gemmMinWork = 0 takes every eligible product
// (tests). BenchmarkGemmVsGGML at one thread (-march=x86-64-v4, GFLOP/s,
// 3 runs, ours against ggml's): 64×64×64 22–26 against 12–20, 64×256×64
// 28–56 against 15–30, 64×1024×64 68–76 against 16–39, 256³ 90–103
// against 58–68; at two threads products this small are all thread
// start-up and noise for both. So the cut-off only keeps the op count of
// tiny graphs down.
var gemmMinWork = int64(1) << 18

var gemmBest = int(C.msc_gemm_best())

// MulmatF32 is a.Mulmat(ctx, b) for the conv path: a [K, M] (the kernel
// reshaped, k contiguous) times b [K, N] (im2col columns or channel-first
// activations), result [M, N] with m contiguous, y[n][m] = Σ_k a[m][k]·b[n][k].
// It runs gemm.c's packed, cache-blocked kernel as a custom op when both
// are f32, 2-D and contiguous, a lives in host memory (a weight on a GPU
// keeps ggml's mul_mat and its backend; DESIGN.md's GPU placement) and the
// product is large enough to pay (M·N·K ≥ 2¹⁸); otherwise it is
// a.Mulmat(ctx, b). Values agree with ggml's up to f32 rounding.
func MulmatF32(ctx ml.Context, a, b ml.Tensor) ml.Tensor {
	return mulmatBiasF32(ctx, a, b, nil)
}

// mulmatBiasF32 is MulmatF32(ctx, a, b) plus bias [M] (nil for none),
// the add fused into gemm.c's write-back where it takes the product and
// bias is a contiguous f32 [M] (the same bytes as the separate add).
func mulmatBiasF32(ctx ml.Context, a, b, bias ml.Tensor) ml.Tensor {
	if !gemmTakes(a, b) {
		y := a.Mulmat(ctx, b)
		if bias != nil {
			y = y.Add(ctx, bias)
		}
		return y
	}
	cb, add := gemmBias(bias, a.Dim(1))
	y := wrapTensor(b, C.msc_mulmat_f32(cContext(ctx), cTensor(a), cTensor(b), cb, C.int(gemmPick())))
	if add {
		y = y.Add(ctx, bias)
	}
	return y
}

// gemmBias is the C bias for gemm.c's ops (nil for none), and whether the
// caller must add bias itself instead (not a contiguous f32 [m]).
func gemmBias(bias ml.Tensor, m int) (*C.struct_ggml_tensor, bool) {
	if bias == nil {
		return nil, false
	}
	if cb := cTensor(bias); bias.DType() == ml.DTypeF32 && C.msc_bias_ok(cb, C.int64_t(m)) == 1 {
		return cb, false
	}
	return nil, true
}

// gemmPick is the micro-kernel variant for a new op.
func gemmPick() int {
	if gemmVariant >= 0 {
		return gemmVariant
	}
	return gemmBest
}

// gemmTakes reports whether MulmatF32 runs gemm.c for a × b.
func gemmTakes(a, b ml.Tensor) bool {
	if a.DType() != ml.DTypeF32 || b.DType() != ml.DTypeF32 {
		return false
	}
	ca, cb := cTensor(a), cTensor(b)
	if C.msc_mulmat_ok(ca, cb) != 1 {
		return false
	}
	return int64(a.Dim(0))*int64(a.Dim(1))*int64(b.Dim(1)) >= gemmMinWork
}

// convCFGemm is Conv2DCF (bias included, fused) through gemm.c's implicit
// im2col: y [OC, OW, OH, N] from x [C, W, H, N] and weight [KW, KH, C, OC],
// the im2col columns packed straight from x, so neither im2col's buffer
// nor the transpose into its [W, H, C, N] input is made; the kernel's taps
// are reordered channel-first ([C, KW, KH, OC], a copy of the weight in
// the graph) to match. nil where gemm.c does not apply (MulmatF32's
// conditions, x not a contiguous f32 tensor, parameters over 255).
func convCFGemm(ctx ml.Context, x, weight, bias ml.Tensor, stride, padding, dilation int) ml.Tensor {
	kw, kh, ic, oc := weight.Dim(0), weight.Dim(1), weight.Dim(2), weight.Dim(3)
	w, h, n := x.Dim(1), x.Dim(2), x.Dim(3)
	if x.DType() != ml.DTypeF32 || x.Dim(0) != ic || !gemmConvWeightOK(weight) || C.msc_contiguous_f32(cTensor(x)) != 1 ||
		stride < 1 || stride > 255 || padding < 0 || padding > 255 || dilation < 1 || dilation > 255 {
		return nil
	}
	ow := (w+2*padding-dilation*(kw-1)-1)/stride + 1
	oh := (h+2*padding-dilation*(kh-1)-1)/stride + 1
	if ow < 1 || oh < 1 || int64(oc)*int64(ow*oh*n)*int64(kw*kh*ic) < gemmMinWork {
		return nil
	}
	var wt ml.Tensor // [C, KW, KH, OC], f32
	if weight.DType() == ml.DTypeF16 {
		// The reorder and the conversion to f32 in one copy: the product
		// is then exactly the f32 one on the f16 values.
		wt = weight.Permute(ctx, 1, 2, 0, 3).Cast(ctx, ml.DTypeF32)
	} else {
		wt = ToChannelFirst(ctx, weight)
	}
	cb, add := gemmBias(bias, oc)
	y := wrapTensor(x, C.msc_conv_f32(cContext(ctx), cTensor(wt), cTensor(x), cb, C.int(stride), C.int(padding), C.int(dilation), C.int(gemmPick())))
	if add {
		y = y.Add(ctx, bias)
	}
	return y
}

// gemmConvWeightOK reports whether convCFGemm takes a conv kernel: f32, or
// f16 (converted to f32 in the graph's reorder copy, TestConvGemmF16Weight),
// in host memory. FCN 520² with f16 weights, -march=x86-64-v4, 2 threads:
// 2.84 s on ggml's f16 path (activations rounded to f16 for its kernel),
// 1.42 s here, the f32 model's time, at 312 against 348 MB peak.
func gemmConvWeightOK(w ml.Tensor) bool {
	return (w.DType() == ml.DTypeF32 || w.DType() == ml.DTypeF16) && weightOnHost(w)
}

// gemmWeightOK reports whether a weight, whatever its shape, is one
// MulmatF32 can take (f32 in host memory; the product's other conditions
// aside): Conv2DGEMM's growing of k for tinyBLAS is then not needed.
func gemmWeightOK(w ml.Tensor) bool {
	return w.DType() == ml.DTypeF32 && weightOnHost(w)
}

// weightOnHost reports whether a weight lives in host memory (the CPU
// backend computes with it), not on a GPU.
func weightOnHost(w ml.Tensor) bool { return C.msc_weight_host(cTensor(w)) == 1 }

// gemmDirect runs msc_gemm on Go slices with nth sequential "threads"
// (tests and benchmarks of the kernel alone): c[n*m+i] = Σ_k a[i*k+…]·b[…].
func gemmDirect(v, m, n, k int, a, b, bias, c []float32, ith, nth int) int {
	var pa, pb, pc, pbias *C.float
	if len(bias) > 0 {
		pbias = (*C.float)(unsafe.Pointer(&bias[0]))
	}
	if len(a) > 0 {
		pa = (*C.float)(unsafe.Pointer(&a[0]))
	}
	if len(b) > 0 {
		pb = (*C.float)(unsafe.Pointer(&b[0]))
	}
	if len(c) > 0 {
		pc = (*C.float)(unsafe.Pointer(&c[0]))
	}
	return int(C.msc_gemm(C.int(v), C.int64_t(m), C.int64_t(n), C.int64_t(k), pa, C.int64_t(k), pb, C.int64_t(k),
		pbias, pc, C.int64_t(m), C.int(ith), C.int(nth)))
}

// gemmConvDirect runs msc_conv on Go slices (tests): x [C, W, H, NB],
// w [C, KW, KH, OC], y [OC, OW, OH, NB].
func gemmConvDirect(v, oc int, w, x []float32, c, wd, h, nb, kw, kh, s, p, d int, y []float32, ith, nth int) int {
	return int(C.msc_conv(C.int(v), C.int64_t(oc), (*C.float)(unsafe.Pointer(&w[0])), (*C.float)(unsafe.Pointer(&x[0])),
		C.int64_t(c), C.int64_t(wd), C.int64_t(h), C.int64_t(nb), C.int64_t(kw), C.int64_t(kh), C.int(s), C.int(p), C.int(d),
		nil, (*C.float)(unsafe.Pointer(&y[0])), C.int(ith), C.int(nth)))
}

// gemmSupported reports whether variant v runs on this CPU.
func gemmSupported(v int) bool { return C.msc_gemm_supported(C.int(v)) == 1 }

// gemmProbe is what gemm.c's mirror of struct ggml_tensor reads from t
// (for TestGemmTensorLayout).
type gemmProbeResult struct {
	typ        int64
	ne, nb     [4]int64
	data       unsafe.Pointer
	src0, src1 unsafe.Pointer
}

func gemmProbe(t ml.Tensor) gemmProbeResult {
	var r gemmProbeResult
	var typ C.int64_t
	var ne, nb [4]C.int64_t
	var data, s0, s1 unsafe.Pointer
	C.msc_tensor_probe(cTensor(t), &typ, &ne[0], &nb[0], &data, &s0, &s1)
	r.typ = int64(typ)
	for i := range 4 {
		r.ne[i], r.nb[i] = int64(ne[i]), int64(nb[i])
	}
	r.data, r.src0, r.src1 = data, s0, s1
	return r
}

// gemmDataOK reports whether the mirror's data field of t is ggml_get_data(t).
func gemmDataOK(t ml.Tensor) bool { return C.msc_tensor_data_ok(cTensor(t)) == 1 }
