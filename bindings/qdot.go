package bindings

// qdot.c: a few columns times a q8_0 or q4_0 weight, as a ggml custom op.
//
// Why: the decode steps of several captions at once (one column a
// sequence) spend their time in matrix-vector products with the language
// model's q8_0 weights. ggml computes a product of two or more columns
// with llamafile's tinyBLAS, slower per column than its one-column dot
// product; MulmatColumns keeps every column on that dot product, but ggml
// then redoes the weight's share of the work (load, absolute values, scale
// conversion: half of each block's instructions) for every column. qdot.c
// does it once for all the columns and repeats the rest of ggml's
// arithmetic exactly, so every column keeps the bytes it gets alone
// (TestMulmatColumns). Figures: BenchmarkMulmatColumns, in MulmatColumns'
// comment.
//
// It exists where ggml's q8_0 dot product is its AVX2 one (builds with
// AVX2, FMA and F16C enabled: ./build.sh on any x86-64-v3 CPU); elsewhere
// MulmatColumns uses ggml's own loop.

/*
#cgo CFLAGS: -O3
#include "qdot.h"
*/
import "C"

import "github.com/ollama/ollama/ml"

// qdotTakes reports whether qdot.c computes w.Mulmat(x): a q8_0 or q4_0 weight in
// host memory and 1 to MSC_QDOT_MAX_COLS contiguous f32 columns.
func qdotTakes(w, x ml.Tensor) bool {
	return (w.DType() == ml.DTypeQ80 || w.DType() == ml.DTypeQ40) && C.msc_qdot_ok(cTensor(w), cTensor(x)) == 1
}

// qdotAvailable reports whether this build has the kernel.
func qdotAvailable() bool { return C.msc_qdot_available() == 1 }

func qdotMulmat(ctx ml.Context, w, x ml.Tensor) ml.Tensor {
	return wrapTensor(x, C.msc_qdot(cContext(ctx), cTensor(w), cTensor(x)))
}

// qdotTraits is what qdot.c reads of ggml's CPU type traits of a type: the
// type its columns are quantized to, and the rows its dot product takes.
func qdotTraits(t ml.DType) (vecDotType int, rows int64) {
	ggmlType := map[ml.DType]C.int{ml.DTypeQ80: 8, ml.DTypeQ40: 2}[t]
	var vt C.int
	var nr C.int64_t
	C.msc_qdot_traits_probe(ggmlType, &vt, &nr)
	return int(vt), int64(nr)
}
