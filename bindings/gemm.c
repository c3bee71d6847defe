// A packed, cache-blocked f32 matrix product (the Goto/BLIS scheme: pack
// a KC×NR panel of b and an MC×KC block of a into contiguous buffers, then
// a register-tiled MR×NR micro-kernel of broadcast FMAs; loops jc, pc, ic,
// jr, ir). gemm.go has the why and the figures; gemm.h the contract.

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "ggml_mirror.h"

// MSC_GEMM_PORTABLE_ONLY builds the portable kernel alone, as on other
// architectures (a check that they build and pass: CGO_CFLAGS=-DMSC_GEMM_PORTABLE_ONLY).
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(MSC_GEMM_PORTABLE_ONLY)
#define MSC_X86 1
#include <immintrin.h>
#endif

// Blocking: a KC×NR panel of b (12 KiB for the AVX-512 kernel) stays in
// L1 while the MR×KC panels of a (32 KiB) stream through it from an MC×KC
// block (256 KiB) held in L2; the KC×NC block of b (4 MiB) in L2/L3.
// Measured on the 2-core Xeon (AVX-512, 48 KiB L1d, 2 MiB L2), one thread,
// M = 512, K = 4608, N = 2112 (FCN layer4's 3×3, one thread's half):
// KC 384/MC 384/NC 1020 103 GFLOP/s, KC 256 133, KC 192 130, KC 128 120,
// KC 256/MC 256/NC 4092 142 (the peak of a register-only FMA loop: 168).
enum { KC = 256, MC = 256, NC = 4092, MR_MAX = 32, NR_MAX = 12 };

typedef void (*kernel_fn)(int64_t kc, const float *A, const float *B, float *C, int64_t ldc, int load);

typedef struct {
	int mr, nr;
	kernel_fn kern;
} variant;

// ---- portable kernel: 8×4, plain C (vectorised by the compiler where it can)

static void kern_portable(int64_t kc, const float *A, const float *B, float *C, int64_t ldc, int load) {
	float acc[4][8];
	for (int j = 0; j < 4; j++)
		for (int i = 0; i < 8; i++) acc[j][i] = load ? C[j * ldc + i] : 0.0f;
	for (int64_t k = 0; k < kc; k++) {
		for (int j = 0; j < 4; j++) {
			const float bj = B[j];
			for (int i = 0; i < 8; i++) acc[j][i] += A[i] * bj;
		}
		A += 8;
		B += 4;
	}
	for (int j = 0; j < 4; j++)
		for (int i = 0; i < 8; i++) C[j * ldc + i] = acc[j][i];
}

#ifdef MSC_X86

// ---- AVX2 + FMA kernel: 16×6 (2 ymm of a times 6 broadcasts of b: 12
// accumulators, 15 of the 16 registers).

#define AVX2_DECL(j) __m256 c0_##j, c1_##j;
#define AVX2_INIT(j)                                               \
	if (load) {                                                    \
		c0_##j = _mm256_loadu_ps(C + (j) * ldc);                   \
		c1_##j = _mm256_loadu_ps(C + (j) * ldc + 8);               \
	} else {                                                       \
		c0_##j = _mm256_setzero_ps();                              \
		c1_##j = _mm256_setzero_ps();                              \
	}
#define AVX2_FMA(j)                                                \
	{                                                              \
		const __m256 b = _mm256_broadcast_ss(B + (j));             \
		c0_##j = _mm256_fmadd_ps(a0, b, c0_##j);                   \
		c1_##j = _mm256_fmadd_ps(a1, b, c1_##j);                   \
	}
#define AVX2_STORE(j)                                              \
	_mm256_storeu_ps(C + (j) * ldc, c0_##j);                       \
	_mm256_storeu_ps(C + (j) * ldc + 8, c1_##j);
#define X6(M) M(0) M(1) M(2) M(3) M(4) M(5)

__attribute__((target("avx2,fma"))) static void kern_avx2(int64_t kc, const float *A, const float *B, float *C,
                                                          int64_t ldc, int load) {
	X6(AVX2_DECL)
	X6(AVX2_INIT)
	for (int64_t k = 0; k < kc; k++) {
		const __m256 a0 = _mm256_load_ps(A), a1 = _mm256_load_ps(A + 8);
		X6(AVX2_FMA)
		A += 16;
		B += 6;
	}
	X6(AVX2_STORE)
}

// ---- AVX-512F kernel: 32×12 (2 zmm of a times 12 broadcasts of b: 24
// accumulators of the 32 registers).

#define Z_DECL(j) __m512 c0_##j, c1_##j;
#define Z_INIT(j)                                                  \
	if (load) {                                                    \
		c0_##j = _mm512_loadu_ps(C + (j) * ldc);                   \
		c1_##j = _mm512_loadu_ps(C + (j) * ldc + 16);              \
	} else {                                                       \
		c0_##j = _mm512_setzero_ps();                              \
		c1_##j = _mm512_setzero_ps();                              \
	}
#define Z_FMA(j)                                                   \
	{                                                              \
		const __m512 b = _mm512_set1_ps(B[j]);                     \
		c0_##j = _mm512_fmadd_ps(a0, b, c0_##j);                   \
		c1_##j = _mm512_fmadd_ps(a1, b, c1_##j);                   \
	}
#define Z_STORE(j)                                                 \
	_mm512_storeu_ps(C + (j) * ldc, c0_##j);                       \
	_mm512_storeu_ps(C + (j) * ldc + 16, c1_##j);
#define X12(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)

__attribute__((target("avx512f"))) static void kern_avx512(int64_t kc, const float *A, const float *B, float *C,
                                                           int64_t ldc, int load) {
	X12(Z_DECL)
	X12(Z_INIT)
	for (int64_t k = 0; k < kc; k++) {
		const __m512 a0 = _mm512_load_ps(A), a1 = _mm512_load_ps(A + 16);
		X12(Z_FMA)
		A += 32;
		B += 12;
	}
	X12(Z_STORE)
}

#endif // MSC_X86

static const variant variants[MSC_GEMM_NVARIANTS] = {
    [MSC_GEMM_PORTABLE] = {8, 4, kern_portable},
#ifdef MSC_X86
    [MSC_GEMM_AVX2] = {16, 6, kern_avx2},
    [MSC_GEMM_AVX512] = {32, 12, kern_avx512},
#endif
};

int msc_gemm_supported(int v) {
	switch (v) {
	case MSC_GEMM_PORTABLE:
		return 1;
#ifdef MSC_X86
	case MSC_GEMM_AVX2:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
	case MSC_GEMM_AVX512:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx512f") ? 1 : 0;
#endif
	}
	return 0;
}

int msc_gemm_best(void) {
	for (int v = MSC_GEMM_NVARIANTS - 1; v > 0; v--)
		if (msc_gemm_supported(v)) return v;
	return MSC_GEMM_PORTABLE;
}

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

// Packing: pack_rows writes w rows of kc floats each (rows[i][0..kc)) k-major,
// dst[k*w + i] = rows[i][k]: 4×4 transposes of SSE registers (baseline on
// x86-64) for whole groups of 4 rows and 4 k, scalar copies for the rest.
// Rows past the matrix's edge point at zeros.
static const float zeros[KC];

static void pack_rows(const float *const *rows, int w, int64_t kc, float *dst) {
	int64_t k = 0;
#ifdef MSC_X86
	const int w4 = w & ~3;
	for (; k + 4 <= kc; k += 4) {
		for (int i = 0; i < w4; i += 4) {
			__m128 r0 = _mm_loadu_ps(rows[i] + k), r1 = _mm_loadu_ps(rows[i + 1] + k);
			__m128 r2 = _mm_loadu_ps(rows[i + 2] + k), r3 = _mm_loadu_ps(rows[i + 3] + k);
			_MM_TRANSPOSE4_PS(r0, r1, r2, r3);
			_mm_storeu_ps(dst + (k + 0) * w + i, r0);
			_mm_storeu_ps(dst + (k + 1) * w + i, r1);
			_mm_storeu_ps(dst + (k + 2) * w + i, r2);
			_mm_storeu_ps(dst + (k + 3) * w + i, r3);
		}
		for (int i = w4; i < w; i++)
			for (int kk = 0; kk < 4; kk++) dst[(k + kk) * w + i] = rows[i][k + kk];
	}
#endif
	for (; k < kc; k++)
		for (int i = 0; i < w; i++) dst[k * w + i] = rows[i][k];
}

// pack_a copies a[m0..m0+mc) × [p0..p0+kc) into mr-row panels, each k-major
// (mr values of one k together), the rows at or past M zero.
static void pack_a(const float *a, int64_t lda, int64_t m0, int64_t mc, int64_t M, int64_t p0, int64_t kc, int mr,
                   float *dst) {
	for (int64_t ip = 0; ip < mc; ip += mr) {
		const float *rows[MR_MAX];
		for (int i = 0; i < mr; i++) rows[i] = m0 + ip + i < M ? a + (m0 + ip + i) * lda + p0 : zeros;
		pack_rows(rows, mr, kc, dst);
		dst += kc * mr;
	}
}

// The b operand: a matrix (b[n*ldb + k]) or, for a convolution, the
// virtual im2col matrix of a channel-first input x [C, W, H, NB]: column
// n = (ox, oy, img), k = c + C·(kx + KW·ky), the value
// x[c, ox·s − p + kx·d, oy·s − p + ky·d, img] or 0 outside the input.
typedef struct {
	const float *b;
	int64_t ldb;
	int conv;
	int64_t C, W, H, OW, OH, KW, s, p, d;
} bsrc;

// pack_b copies columns [n0, n0+nc) × k in [p0, p0+kc) of b into nr-column
// panels, each k-major, the columns at or past N zero. For a convolution,
// each tap's C values of a column are contiguous in x: the block goes tap
// segment by tap segment.
static void pack_b(const bsrc *B, int64_t n0, int64_t nc, int64_t N, int64_t p0, int64_t kc, int nr, float *dst) {
	for (int64_t jp = 0; jp < nc; jp += nr) {
		const float *cols[NR_MAX];
		if (!B->conv) {
			for (int j = 0; j < nr; j++) cols[j] = n0 + jp + j < N ? B->b + (n0 + jp + j) * B->ldb + p0 : zeros;
			pack_rows(cols, nr, kc, dst);
			dst += kc * nr;
			continue;
		}
		int64_t ox[NR_MAX], oy[NR_MAX], img[NR_MAX];
		for (int j = 0; j < nr; j++) {
			const int64_t n = n0 + jp + j;
			ox[j] = n % B->OW;
			oy[j] = n / B->OW % B->OH;
			img[j] = n < N ? n / (B->OW * B->OH) : -1;
		}
		for (int64_t k = p0; k < p0 + kc;) {
			const int64_t tap = k / B->C, c0 = k % B->C;
			const int64_t len = min64(B->C - c0, p0 + kc - k);
			const int64_t kx = tap % B->KW, ky = tap / B->KW;
			for (int j = 0; j < nr; j++) {
				const int64_t ix = ox[j] * B->s - B->p + kx * B->d, iy = oy[j] * B->s - B->p + ky * B->d;
				cols[j] = img[j] >= 0 && ix >= 0 && ix < B->W && iy >= 0 && iy < B->H
				              ? B->b + ((img[j] * B->H + iy) * B->W + ix) * B->C + c0
				              : zeros;
			}
			pack_rows(cols, nr, len, dst + (k - p0) * nr);
			k += len;
		}
		dst += kc * nr;
	}
}


// Scratch: a fixed set of buffers, each claimed by one thread for one
// call (an atomic flag) and kept for the next call, so that the packing
// buffers are not faulted in afresh on every call (slots, not thread-local
// buffers: nothing depends on which OS threads run the op, ggml's
// per-graph workers or threadpool.go's pool). A buffer only grows, to the largest call's need (at most
// (MC + NC)·KC floats, 4.4 MiB); with every slot taken (more threads than
// slots, at once) a call mallocs and frees its own.
enum { NSLOTS = 64 };
static struct {
	int busy;
	size_t cap;
	char *raw;
} slots[NSLOTS];

static char *scratch_get(size_t bytes, int *slot) {
	for (int i = 0; i < NSLOTS; i++) {
		int free_ = 0;
		if (!__atomic_compare_exchange_n(&slots[i].busy, &free_, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) continue;
		if (slots[i].cap < bytes) {
			free(slots[i].raw);
			slots[i].raw = malloc(bytes);
			slots[i].cap = slots[i].raw ? bytes : 0;
			if (!slots[i].raw) {
				__atomic_store_n(&slots[i].busy, 0, __ATOMIC_RELEASE);
				return NULL;
			}
		}
		*slot = i;
		return slots[i].raw;
	}
	*slot = -1;
	return malloc(bytes);
}

static void scratch_put(char *raw, int slot) {
	if (slot < 0) {
		free(raw);
		return;
	}
	__atomic_store_n(&slots[slot].busy, 0, __ATOMIC_RELEASE);
}
static int64_t roundup(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// gemm_range computes the block m0 ≤ m < m1, n0 ≤ n < n1 of c.
static int gemm_range(const variant *V, int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t K, const float *a,
                      int64_t lda, const bsrc *b, const float *bias, float *c, int64_t ldc) {
	if (m0 >= m1 || n0 >= n1) return 0;
	if (K == 0) {
		for (int64_t n = n0; n < n1; n++)
			for (int64_t m = m0; m < m1; m++) c[n * ldc + m] = bias ? 0.0f + bias[m] : 0.0f;
		return 0;
	}
	const int mr = V->mr, nr = V->nr;
	const int64_t ncb = NC / nr * nr;
	const int64_t kmax = min64(KC, K);
	const int64_t mmax = min64(MC, roundup(m1 - m0, mr));
	const int64_t nmax = min64(ncb, roundup(n1 - n0, nr));
	const size_t asz = (size_t)(mmax * kmax), bsz = (size_t)(nmax * kmax);
	// One buffer, 64-byte aligned by hand (portable to any libc).
	int slot;
	char *raw = scratch_get((asz + bsz) * sizeof(float) + 128, &slot);
	if (!raw) return -1;
	float *abuf = (float *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
	float *bbuf = (float *)(((uintptr_t)(abuf + asz) + 63) & ~(uintptr_t)63);
	float tile[MR_MAX * NR_MAX] __attribute__((aligned(64)));

	for (int64_t jc = n0; jc < n1; jc += ncb) {
		const int64_t nc = min64(ncb, n1 - jc);
		for (int64_t pc = 0; pc < K; pc += KC) {
			const int64_t kc = min64(KC, K - pc);
			const int load = pc > 0;
			pack_b(b, jc, nc, n1, pc, kc, nr, bbuf);
			for (int64_t ic = m0; ic < m1; ic += MC) {
				const int64_t mc = min64(MC, m1 - ic);
				pack_a(a, lda, ic, mc, m1, pc, kc, mr, abuf);
				for (int64_t jr = 0; jr < nc; jr += nr) {
					const int nn = (int)min64(nr, nc - jr);
					const float *bp = bbuf + jr * kc;
					for (int64_t ir = 0; ir < mc; ir += mr) {
						const int mm = (int)min64(mr, mc - ir);
						const float *ap = abuf + ir * kc;
						float *cp = c + (jc + jr) * ldc + ic + ir;
						if (mm == mr && nn == nr) {
							V->kern(kc, ap, bp, cp, ldc, load);
						} else {
							// Edge tile: run the same kernel on a full
							// tile (the zero-padded rows and columns of
							// the packs give zeros) and write back the
							// valid part.
							if (load)
								for (int j = 0; j < nn; j++)
									memcpy(tile + j * mr, cp + j * ldc, (size_t)mm * sizeof(float));
							V->kern(kc, ap, bp, tile, mr, load);
							for (int j = 0; j < nn; j++)
								memcpy(cp + j * ldc, tile + j * mr, (size_t)mm * sizeof(float));
						}
						// The bias after the whole sum over k, while the
						// tile is in cache: the bytes of a separate add.
						if (bias && pc + kc == K) {
							const float *bm = bias + ic + ir;
							for (int j = 0; j < nn; j++)
								for (int i = 0; i < mm; i++) cp[j * ldc + i] += bm[i];
						}
					}
				}
			}
		}
	}
	scratch_put(raw, slot);
	return 0;
}

// gemm_split computes thread ith's share of c: the columns n (whole
// nr-panels) are split between the threads, each packing its own part of
// b (the large operand of a conv product: im2col columns or activations)
// and all of a; where there are too few panels to go round, the rows m.
static int gemm_split(int v, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const bsrc *b,
                      const float *bias, float *c, int64_t ldc, int ith, int nth) {
	if (v < 0 || v >= MSC_GEMM_NVARIANTS || !variants[v].kern) v = MSC_GEMM_PORTABLE;
	const variant *V = &variants[v];
	if (nth < 1) nth = 1;
	const int64_t np = (N + V->nr - 1) / V->nr, mp = (M + V->mr - 1) / V->mr;
	if (np >= 4 * (int64_t)nth || np >= mp) {
		const int64_t p0 = np * ith / nth, p1 = np * (ith + 1) / nth;
		return gemm_range(V, 0, M, min64(p0 * V->nr, N), min64(p1 * V->nr, N), K, a, lda, b, bias, c, ldc);
	}
	const int64_t p0 = mp * ith / nth, p1 = mp * (ith + 1) / nth;
	return gemm_range(V, min64(p0 * V->mr, M), min64(p1 * V->mr, M), 0, N, K, a, lda, b, bias, c, ldc);
}

int msc_gemm(int v, int64_t M, int64_t N, int64_t K, const float *a, int64_t lda, const float *b, int64_t ldb,
             const float *bias, float *c, int64_t ldc, int ith, int nth) {
	const bsrc B = {.b = b, .ldb = ldb};
	return gemm_split(v, M, N, K, a, lda, &B, bias, c, ldc, ith, nth);
}

int msc_conv(int v, int64_t OC, const float *w, const float *x, int64_t C, int64_t W, int64_t H, int64_t NB,
             int64_t KW, int64_t KH, int s, int p, int d, const float *bias, float *y, int ith, int nth) {
	const int64_t OW = (W + 2 * p - d * (KW - 1) - 1) / s + 1, OH = (H + 2 * p - d * (KH - 1) - 1) / s + 1;
	const bsrc B = {.b = x, .conv = 1, .C = C, .W = W, .H = H, .OW = OW, .OH = OH, .KW = KW, .s = s, .p = p, .d = d};
	const int64_t K = C * KW * KH;
	return gemm_split(v, OC, OW * OH * NB, K, w, K, &B, bias, y, OC, ith, nth);
}

// ---- the ggml custom op

static void mulmat_op(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	const struct msc_tensor *d = (const struct msc_tensor *)dst;
	const struct msc_tensor *a = d->src[0], *b = d->src[1];
	const int64_t M = a->ne[1], K = a->ne[0], N = b->ne[1];
	const float *bias = d->src[2] ? d->src[2]->data : NULL;
	if (msc_gemm((int)(intptr_t)userdata, M, N, K, a->data, (int64_t)(a->nb[1] / sizeof(float)), b->data,
	             (int64_t)(b->nb[1] / sizeof(float)), bias, d->data, (int64_t)(d->nb[1] / sizeof(float)), ith,
	             nth) != 0) {
		fprintf(stderr, "multisc: gemm: out of memory for its packing buffers\n");
		abort();
	}
}

// The conv op's parameters travel in its userdata: variant, stride,
// padding and dilation, 8 bits each.
static void conv_op(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	const struct msc_tensor *d = (const struct msc_tensor *)dst;
	const struct msc_tensor *w = d->src[0], *x = d->src[1]; // w [C, KW, KH, OC], x [C, W, H, NB]
	const uintptr_t u = (uintptr_t)userdata;
	const int v = (int)(u & 255), s = (int)(u >> 8 & 255), p = (int)(u >> 16 & 255), dl = (int)(u >> 24 & 255);
	const float *bias = d->src[2] ? d->src[2]->data : NULL;
	if (msc_conv(v, w->ne[3], w->data, x->data, x->ne[0], x->ne[1], x->ne[2], x->ne[3], w->ne[1], w->ne[2], s, p, dl,
	             bias, d->data, ith, nth) != 0) {
		fprintf(stderr, "multisc: gemm: out of memory for its packing buffers\n");
		abort();
	}
}

struct ggml_tensor *msc_conv_f32(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *x,
                                 struct ggml_tensor *bias, int s, int p, int d, int v) {
	struct ggml_tensor *args[3] = {w, x, bias};
	const struct msc_tensor *wm = (const struct msc_tensor *)w, *xm = (const struct msc_tensor *)x;
	const int64_t OW = (xm->ne[1] + 2 * p - d * (wm->ne[1] - 1) - 1) / s + 1;
	const int64_t OH = (xm->ne[2] + 2 * p - d * (wm->ne[2] - 1) - 1) / s + 1;
	const uintptr_t u = (uintptr_t)v | (uintptr_t)s << 8 | (uintptr_t)p << 16 | (uintptr_t)d << 24;
	return ggml_custom_4d(ctx, 0 /* GGML_TYPE_F32 */, wm->ne[3], OW, OH, xm->ne[3], args, bias ? 3 : 2, conv_op,
	                      -1 /* GGML_N_TASKS_MAX */, (void *)u);
}

int msc_contiguous_f32(const struct ggml_tensor *t) {
	const struct msc_tensor *m = (const struct msc_tensor *)t;
	if (m->type != 0 || m->nb[0] != sizeof(float)) return 0;
	for (int i = 1; i < 4; i++)
		if (m->nb[i] != m->nb[i - 1] * (size_t)m->ne[i - 1]) return 0;
	return 1;
}

static int f32_2d(const struct msc_tensor *t) {
	return t->type == 0 /* GGML_TYPE_F32 */ && t->ne[2] == 1 && t->ne[3] == 1 && t->nb[0] == sizeof(float) &&
	       t->nb[1] == t->ne[0] * sizeof(float);
}

int msc_weight_host(const struct ggml_tensor *at) {
	const struct msc_tensor *a = (const struct msc_tensor *)at;
	void *buf = a->view_src ? a->view_src->buffer : a->buffer;
	return buf && ggml_backend_buffer_is_host(buf);
}

int msc_bias_ok(const struct ggml_tensor *bt, int64_t M) {
	const struct msc_tensor *b = (const struct msc_tensor *)bt;
	return msc_contiguous_f32(bt) && b->ne[0] == M && b->ne[1] == 1 && b->ne[2] == 1 && b->ne[3] == 1;
}

int msc_mulmat_ok(const struct ggml_tensor *at, const struct ggml_tensor *bt) {
	const struct msc_tensor *a = (const struct msc_tensor *)at, *b = (const struct msc_tensor *)bt;
	if (!f32_2d(a) || !f32_2d(b)) return 2;
	if (a->ne[0] != b->ne[0]) return 3;
	if (!msc_weight_host(at)) return 4; // no buffer yet (computed) or on a device
	return 1;
}

struct ggml_tensor *msc_mulmat_f32(struct ggml_context *ctx, struct ggml_tensor *a, struct ggml_tensor *b,
                                   struct ggml_tensor *bias, int v) {
	struct ggml_tensor *args[3] = {a, b, bias};
	const struct msc_tensor *am = (const struct msc_tensor *)a, *bm = (const struct msc_tensor *)b;
	return ggml_custom_4d(ctx, 0 /* GGML_TYPE_F32 */, am->ne[1], bm->ne[1], 1, 1, args, bias ? 3 : 2, mulmat_op,
	                      -1 /* GGML_N_TASKS_MAX */, (void *)(intptr_t)v);
}

void msc_tensor_probe(const struct ggml_tensor *t, int64_t *out_type, int64_t *ne, int64_t *nb, void **data,
                      void **src0, void **src1) {
	const struct msc_tensor *m = (const struct msc_tensor *)t;
	*out_type = m->type;
	for (int i = 0; i < 4; i++) {
		ne[i] = m->ne[i];
		nb[i] = (int64_t)m->nb[i];
	}
	*data = m->data;
	*src0 = m->src[0];
	*src1 = m->src[1];
}

int msc_tensor_data_ok(const struct ggml_tensor *t) {
	return ((const struct msc_tensor *)t)->data == ggml_get_data(t);
}
