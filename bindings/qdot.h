// A few columns times a q8_0 or q4_0 weight, every column the bytes of ggml's own
// one-column product (qdot.go explains why and the figures). Only bindings'
// cgo code includes this header.
#ifndef MULTISC_QDOT_H
#define MULTISC_QDOT_H

#include <stdint.h>

struct ggml_context;
struct ggml_tensor;

// MSC_QDOT_MAX_COLS is the most columns one op takes.
#define MSC_QDOT_MAX_COLS 8

// msc_qdot_available is 1 when this build has the kernel: ggml's q8_0 and
// q4_0 dot products are its AVX2 ones (a build with AVX2, FMA and F16C
// enabled), whose arithmetic the kernel repeats.
int msc_qdot_available(void);

// msc_qdot_ok is 1 when msc_qdot may replace ggml_mul_mat(w, x): w a
// 2-D q8_0 or q4_0 weight in host memory, x contiguous f32 [K, n] with the same K
// and 1 ≤ n ≤ MSC_QDOT_MAX_COLS; otherwise a reason code > 1 (qdot.go).
int msc_qdot_ok(const struct ggml_tensor *w, const struct ggml_tensor *x);

// msc_qdot is the custom op node [M, n] = ggml_mul_mat(w, x) on the CPU
// backend's threads.
struct ggml_tensor *msc_qdot(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *x);

// msc_qdot_traits_probe reads the fields of ggml's CPU type traits of a
// type that qdot.c's mirror of the struct sees (for the layout test).
void msc_qdot_traits_probe(int type, int *vec_dot_type, int64_t *nrows);

#endif
