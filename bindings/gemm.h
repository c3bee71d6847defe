// A packed, cache-blocked f32 matrix product for the conv path (gemm.go
// explains the scheme and the figures). Only bindings' cgo code includes
// this header.
#ifndef MULTISC_GEMM_H
#define MULTISC_GEMM_H

#include <stdint.h>

struct ggml_context;
struct ggml_tensor;

// Micro-kernel variants: msc_gemm_best picks the widest one this CPU runs.
enum {
	MSC_GEMM_PORTABLE = 0, // plain C, any CPU
	MSC_GEMM_AVX2 = 1,     // AVX2 + FMA (x86-64 only)
	MSC_GEMM_AVX512 = 2,   // AVX-512F (x86-64 only)
	MSC_GEMM_NVARIANTS = 3
};

// msc_gemm_supported reports whether variant v runs on this CPU.
int msc_gemm_supported(int v);

// msc_gemm_best is the widest supported variant.
int msc_gemm_best(void);

// msc_gemm computes, for thread ith of nth, its share of
// c[n*ldc + m] = Σ_k a[m*lda + k]·b[n*ldb + k] for m < M, n < N, k < K
// (ggml_mul_mat's orientation: a and b have k contiguous, c has m
// contiguous). The shares of 0..nth-1 are disjoint and cover c; every
// element is the same chain of fused multiply-adds over k = 0..K-1 in
// order whatever nth and ith are, so the bytes do not depend on the
// thread count. With bias (M floats, or NULL) c[n*ldc + m] gets + bias[m]
// after the sum, as a separate add would. Returns 0, or -1 when its scratch could not be allocated.
int msc_gemm(int v, int64_t M, int64_t N, int64_t K,
             const float *a, int64_t lda, const float *b, int64_t ldb,
             const float *bias, float *c, int64_t ldc, int ith, int nth);

// msc_conv is msc_gemm for a convolution of a channel-first x [C, W, H,
// NB] (c contiguous) with w [C, KW, KH, OC] (the kernel's taps reordered
// channel-first), y [OC, OW, OH, NB]: the im2col matrix is never built,
// its columns are packed straight from x (zeros outside it).
int msc_conv(int v, int64_t OC, const float *w, const float *x, int64_t C, int64_t W, int64_t H, int64_t NB,
             int64_t KW, int64_t KH, int s, int p, int d, const float *bias, float *y, int ith, int nth);

// msc_conv_f32 is the custom op node y [OC, OW, OH, NB] = conv(x, w) as
// msc_conv; s, p, d < 256.
struct ggml_tensor *msc_conv_f32(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *x,
                                 struct ggml_tensor *bias, int s, int p, int d, int v);

// msc_contiguous_f32 is 1 for a contiguous f32 tensor.
int msc_contiguous_f32(const struct ggml_tensor *t);

// msc_mulmat_ok is 1 when msc_mulmat_f32 may replace ggml_mul_mat(a, b):
// both f32, contiguous, 2-D, the same k, and a (the weight) in host
// memory. Otherwise a short reason code > 1 (see gemm.go).
int msc_mulmat_ok(const struct ggml_tensor *a, const struct ggml_tensor *b);

// msc_weight_host is 1 when a (or the tensor it views) is in host memory.
int msc_weight_host(const struct ggml_tensor *a);

// msc_mulmat_f32 is the custom op node [M, N] = ggml_mul_mat(a, b) on the
// CPU backend's threads, computed by variant v.
struct ggml_tensor *msc_mulmat_f32(struct ggml_context *ctx, struct ggml_tensor *a,
                                   struct ggml_tensor *b, struct ggml_tensor *bias, int v);

// msc_bias_ok is 1 for a contiguous f32 vector of M elements (the ops'
// optional bias, NULL for none).
int msc_bias_ok(const struct ggml_tensor *bias, int64_t M);

// msc_tensor_probe copies the fields of t that gemm.c reads through its
// mirror of struct ggml_tensor (for the layout test): type, ne[0..3],
// nb[0..3], data, src[0], src[1].
void msc_tensor_probe(const struct ggml_tensor *t, int64_t *out_type, int64_t *ne, int64_t *nb,
                      void **data, void **src0, void **src1);

// msc_tensor_data_ok is 1 when the mirror's data field is ggml_get_data(t).
int msc_tensor_data_ok(const struct ggml_tensor *t);

#endif
