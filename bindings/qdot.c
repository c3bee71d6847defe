// A few columns times a q8_0 or q4_0 weight (qdot.go has the why and the
// figures; qdot.h the contract).
//
// Each output is the same arithmetic as ggml's AVX2 q8_0·q8_0 (or
// q4_0·q8_0) dot product of one weight row with one column quantized to
// q8_0 (ggml's own quantizer, read from its CPU type traits): per 32-value
// block, the weight's 32 signed bytes (q4_0: low nibbles, then high
// nibbles, less 8), the eight 4-byte integer partial sums of
// |w|·sign(x, w), converted to float, times the product of the two block
// scales, fused-added into eight running sums in block order; then the
// same horizontal sum. The integer sums are exact, whether VNNI's
// dpbusd or maddubs + madd forms them, so the bytes equal ggml's. What
// differs is the loop: a weight block is loaded, made absolute and its scale
// converted once for all the columns, instead of once for each.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "gemm.h"
#include "ggml_mirror.h"
#include "qdot.h"

enum { QK = 32, TYPE_F32 = 0, TYPE_Q4_0 = 2, TYPE_Q8_0 = 8 };

typedef struct {
	uint16_t d; // fp16 scale
	int8_t qs[QK];
} blk_q8_0;
_Static_assert(sizeof(blk_q8_0) == 34, "block_q8_0 is 34 bytes in ggml");

// Both weight blocks start with their fp16 scale; then q8_0 has 32 bytes,
// q4_0 16 bytes of two 4-bit values each.
static inline size_t block_bytes(int type) { return type == TYPE_Q8_0 ? sizeof(blk_q8_0) : 2 + QK / 2; }

typedef void (*from_float_fn)(const float *x, void *y, int64_t k);

// struct ggml_type_traits_cpu of ggml-cpu.h (pinned by TestQdotTraits).
struct msc_cpu_traits {
	from_float_fn from_float;
	void *vec_dot;
	int vec_dot_type;
	int64_t nrows;
};
const struct msc_cpu_traits *ggml_get_type_traits_cpu(int type);

void msc_qdot_traits_probe(int type, int *vec_dot_type, int64_t *nrows) {
	const struct msc_cpu_traits *t = ggml_get_type_traits_cpu(type);
	*vec_dot_type = t->vec_dot_type;
	*nrows = t->nrows;
}

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__) && (defined(__x86_64__) || defined(_M_X64))
#include <immintrin.h>
#define MSC_QDOT 1
#endif

int msc_qdot_available(void) {
#ifdef MSC_QDOT
	return 1;
#else
	return 0;
#endif
}

#ifdef MSC_QDOT

// The eight 4-byte partial sums of a block, as float: the instruction ggml
// picks at compile time for the same build.
static inline __m256 block_sums(__m256i ax, __m256i sx) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
	return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sx));
#elif defined(__AVXVNNI__)
	return _mm256_cvtepi32_ps(_mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ax, sx));
#else
	const __m256i pairs = _mm256_maddubs_epi16(ax, sx);
	return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
#endif
}

// hsum8 adds the eight lanes in ggml's order: high half onto low half,
// then lanes 2,3 onto 0,1, then lane 1 onto lane 0.
static inline float hsum8(__m256 v) {
	__m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
	r = _mm_add_ps(r, _mm_movehl_ps(r, r));
	r = _mm_add_ss(r, _mm_movehdup_ps(r));
	return _mm_cvtss_f32(r);
}

static inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

// weight_bytes is a weight block's 32 values as signed bytes.
static inline __m256i weight_bytes(int type, const uint8_t *blk) {
	if (type == TYPE_Q8_0) return _mm256_loadu_si256((const __m256i *)(blk + 2));
	const __m128i packed = _mm_loadu_si128((const __m128i *)(blk + 2));
	const __m256i nibbles = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
	return _mm256_sub_epi8(_mm256_and_si256(nibbles, _mm256_set1_epi8(0xF)), _mm256_set1_epi8(8));
}

// rows computes y[j*M + r] for r in [r0, r1) and the N columns xq (nb
// blocks each, their scales already as floats in xd[j*nb + b]) with a
// weight of the given type. N and type are constants at each call site, so
// the column loops unroll and the N running sums stay in registers.
static inline __attribute__((always_inline)) void rows(int N, int type, const uint8_t *w, int64_t nb,
                                                       const blk_q8_0 *xq, const float *xd, float *y, int64_t M,
                                                       int64_t r0, int64_t r1) {
	const size_t bb = block_bytes(type);
	for (int64_t r = r0; r < r1; r++) {
		const uint8_t *wr = w + (size_t)r * nb * bb;
		__m256 acc[MSC_QDOT_MAX_COLS];
		for (int j = 0; j < N; j++) acc[j] = _mm256_setzero_ps();
		for (int64_t b = 0; b < nb; b++) {
			const uint8_t *blk = wr + b * bb;
			const __m256i qw = weight_bytes(type, blk);
			const __m256i aw = _mm256_sign_epi8(qw, qw);
			const float dw = half_to_float(*(const uint16_t *)blk);
			for (int j = 0; j < N; j++) {
				const __m256i qx = _mm256_loadu_si256((const __m256i *)xq[j * nb + b].qs);
				const __m256 s = block_sums(aw, _mm256_sign_epi8(qx, qw));
				acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xd[j * nb + b]), s, acc[j]);
			}
		}
		for (int j = 0; j < N; j++) y[j * M + r] = hsum8(acc[j]);
	}
}

// Scratch for the quantized columns: one buffer per thread, kept (it only
// grows, to 8 columns of the widest K seen).
static _Thread_local blk_q8_0 *scratch;
static _Thread_local size_t scratch_blocks;

static int kernel(int type, const uint8_t *w, int64_t K, const float *x, int n, float *y, int64_t M, int64_t r0, int64_t r1) {
	const int64_t nb = K / QK;
	if ((size_t)(n * nb) > scratch_blocks) {
		free(scratch);
		scratch = malloc((size_t)(n * nb) * (sizeof(blk_q8_0) + sizeof(float)));
		scratch_blocks = scratch ? (size_t)(n * nb) : 0;
		if (!scratch) return -1;
	}
	blk_q8_0 *xq = scratch;
	float *xd = (float *)(scratch + scratch_blocks);
	const from_float_fn quantize = ggml_get_type_traits_cpu(TYPE_Q8_0)->from_float;
	for (int j = 0; j < n; j++) {
		quantize(x + j * K, xq + j * nb, K);
		for (int64_t b = 0; b < nb; b++) xd[j * nb + b] = half_to_float(xq[j * nb + b].d);
	}
#define ROWS(N)                                                                                             \
	(type == TYPE_Q8_0 ? rows(N, TYPE_Q8_0, w, nb, xq, xd, y, M, r0, r1) : rows(N, TYPE_Q4_0, w, nb, xq, xd, y, M, r0, r1))
	switch (n) {
	case 1: ROWS(1); break;
	case 2: ROWS(2); break;
	case 3: ROWS(3); break;
	case 4: ROWS(4); break;
	case 5: ROWS(5); break;
	case 6: ROWS(6); break;
	case 7: ROWS(7); break;
	default: ROWS(8); break;
	}
#undef ROWS
	return 0;
}

#endif // MSC_QDOT

int msc_qdot_ok(const struct ggml_tensor *wt, const struct ggml_tensor *xt) {
	const struct msc_tensor *w = (const struct msc_tensor *)wt, *x = (const struct msc_tensor *)xt;
	if (!msc_qdot_available()) return 2;
	if ((w->type != TYPE_Q8_0 && w->type != TYPE_Q4_0) || w->ne[2] != 1 || w->ne[3] != 1 ||
	    w->nb[1] != (size_t)(w->ne[0] / QK) * block_bytes(w->type))
		return 3;
	if (!msc_contiguous_f32(xt) || x->ne[0] != w->ne[0] || x->ne[0] % QK != 0 || x->ne[1] < 1 ||
	    x->ne[1] > MSC_QDOT_MAX_COLS || x->ne[2] != 1 || x->ne[3] != 1)
		return 4;
	if (!msc_weight_host(wt)) return 5;
	return 1;
}

#ifdef MSC_QDOT
// Thread ith of nth takes the ith nth of the rows (whole groups of 16).
static void qdot_op(struct ggml_tensor *dst, int ith, int nth, void *userdata) {
	(void)userdata;
	const struct msc_tensor *d = (const struct msc_tensor *)dst;
	const struct msc_tensor *w = d->src[0], *x = d->src[1];
	const int64_t M = w->ne[1], groups = (M + 15) / 16;
	const int64_t r0 = groups * ith / nth * 16, r1 = groups * (ith + 1) / nth * 16;
	if (r0 >= M) return;
	if (kernel(w->type, w->data, w->ne[0], x->data, (int)x->ne[1], d->data, M, r0, r1 < M ? r1 : M) != 0) {
		fprintf(stderr, "multisc: qdot: out of memory for its quantized columns\n");
		abort();
	}
}
#endif

struct ggml_tensor *msc_qdot(struct ggml_context *ctx, struct ggml_tensor *w, struct ggml_tensor *x) {
#ifdef MSC_QDOT
	struct ggml_tensor *args[2] = {w, x};
	const struct msc_tensor *wm = (const struct msc_tensor *)w, *xm = (const struct msc_tensor *)x;
	return ggml_custom_4d(ctx, TYPE_F32, wm->ne[1], xm->ne[1], 1, 1, args, 2, qdot_op, -1 /* GGML_N_TASKS_MAX */,
	                      NULL);
#else
	(void)ctx, (void)w, (void)x;
	return NULL;
#endif
}
