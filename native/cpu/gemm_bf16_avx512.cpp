// The AVX512-BF16 micro-kernel and the packing it reads (contract: cpu/gemm_bf16_avx512.h).
//
// This is the one file compiled for the avx512bf16 target (the pragma below), whatever the
// build's -march, so a portable build still carries the kernel and cpuid decides at run time
// whether it runs. Only plain functions on raw pointers live here, and everything else has
// internal linkage: an inline library function instantiated under this target could otherwise
// be picked by the linker for the rest of the program and run AVX-512 code on a CPU without it.
#include "cpu/gemm_bf16_avx512.h"

#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 9) || (!defined(__clang__) && __GNUC__ >= 10))
#define HG_BF16_KERNEL 1
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,fma")
#include <immintrin.h>
// GCC 12 flags the deliberately undefined pass-through operand inside _mm512_unpack*_epi32.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace hg {
namespace cpu {
namespace bf16k {

#ifdef HG_BF16_KERNEL
namespace {

constexpr int MR = Bf16GemmTraits::MR;
constexpr int NR = Bf16GemmTraits::NR;
static_assert(MR <= 16 && NR == 32, "one 16-lane mask covers an A panel; B panels are two vectors");

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline __mmask16 lanes(int64_t n) { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }

// 16 f32 -> bf16 bits in the low half of each 32-bit lane: nearest even, NaN stays a quiet NaN
// (the same rounding as cpu::to_bf16, so the operands are the ones the reference rounds).
inline __m512i round16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
}

// Words from two rows of 16 values each: word c = lo[c] | hi[c] << 16 (f32 rounded to bf16, or
// bf16 bits as they are).
inline __m512i pair_rows(const float* lo, const float* hi, __mmask16 m) {
  const __m512i l = round16(_mm512_maskz_loadu_ps(m, lo));
  const __m512i h = hi ? round16(_mm512_maskz_loadu_ps(m, hi)) : _mm512_setzero_si512();
  return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}
inline __m512i pair_rows(const uint16_t* lo, const uint16_t* hi, __mmask16 m) {
  const __m512i l = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, lo));
  const __m512i h = hi ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, hi)) : _mm512_setzero_si512();
  return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}

// 32 contiguous values (n of them valid) -> 16 words of consecutive pairs. bf16 pairs are already
// words: a masked load of 32 halves.
inline __m512i pairs_along(const float* p, int64_t n) {
  const __m256i lo = _mm512_cvtepi32_epi16(round16(_mm512_maskz_loadu_ps(lanes(n), p)));
  const __m256i hi = _mm512_cvtepi32_epi16(round16(_mm512_maskz_loadu_ps(lanes(n - 16), p + 16)));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __m512i pairs_along(const uint16_t* p, int64_t n) {
  const __mmask32 m = n >= 32 ? __mmask32(0xffffffffu) : __mmask32((1u << n) - 1);
  return _mm512_maskz_loadu_epi16(m, p);
}

// r[16] rows of 16 words -> out[m] = word m of every row (lane g = row g).
inline void transpose16(const __m512i r[16], __m512i out[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {  // t[2i], t[2i+1]: words {0,1}, {2,3} of each 128-bit lane, rows 2i and 2i+1 interleaved
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // u[4i + w], lane l: word 4l + w of rows 4i .. 4i+3
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int w = 0; w < 4; ++w) {  // gather lane l of u[w], u[4+w], u[8+w], u[12+w] into word 4l + w
    const __m512i v = _mm512_shuffle_i32x4(u[w], u[4 + w], 0x88), v1 = _mm512_shuffle_i32x4(u[w], u[4 + w], 0xdd);
    const __m512i x = _mm512_shuffle_i32x4(u[8 + w], u[12 + w], 0x88), x1 = _mm512_shuffle_i32x4(u[8 + w], u[12 + w], 0xdd);
    out[w] = _mm512_shuffle_i32x4(v, x, 0x88);
    out[8 + w] = _mm512_shuffle_i32x4(v, x, 0xdd);
    out[4 + w] = _mm512_shuffle_i32x4(v1, x1, 0x88);
    out[12 + w] = _mm512_shuffle_i32x4(v1, x1, 0xdd);
  }
}

// Rows along k -> pair words in [q][stride] order: rows[g] (g < n_rows; the others are 0) holds
// kc values from k = 0; dst[q·stride + g] = word q of row g, for every q < ceil(kc/2). `load`
// gives the 16 words of row g starting at pair q0 (values past kc are 0).
template <class Load>
inline void transpose_pack(uint32_t* dst, int64_t stride, int n_rows, int64_t kc, Load load) {
  const int64_t kp = (kc + 1) / 2;
  const __mmask16 store = lanes(stride < 16 ? stride : 16);
  for (int64_t q0 = 0; q0 < kp; q0 += 16) {
    __m512i r[16], out[16];
    for (int g = 0; g < 16; ++g) r[g] = g < n_rows ? load(g, q0) : _mm512_setzero_si512();
    transpose16(r, out);
    const int64_t n = min64(16, kp - q0);
    for (int64_t q = 0; q < n; ++q) _mm512_mask_storeu_epi32(dst + (q0 + q) * stride, store, out[q]);
  }
}

// acc[R rows][NR cols] over kp k-pairs, then C = alpha·acc + beta·C + bias on the first cols.
template <int R>
inline void micro(int64_t kp, const uint32_t* a, const uint32_t* b, float* C, int64_t ldc, int64_t cols, float alpha,
                  float beta, const float* bias) {
  __m512 c0[R], c1[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) c0[r] = c1[r] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kp; ++k, a += MR, b += NR) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512bh av = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r]));
      c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
    }
  }
  const __mmask16 m0 = lanes(cols), m1 = lanes(cols - 16);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __m512 bias0 = bias ? _mm512_maskz_loadu_ps(m0, bias) : _mm512_setzero_ps();
  const __m512 bias1 = bias ? _mm512_maskz_loadu_ps(m1, bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    float* row = C + r * ldc;
    __m512 x0 = _mm512_mul_ps(c0[r], va), x1 = _mm512_mul_ps(c1[r], va);
    if (beta != 0.f) {
      x0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), x0);
      x1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), x1);
    }
    if (bias) {
      x0 = _mm512_add_ps(x0, bias0);
      x1 = _mm512_add_ps(x1, bias1);
    }
    _mm512_mask_storeu_ps(row, m0, x0);
    _mm512_mask_storeu_ps(row + 16, m1, x1);
  }
}

}  // namespace

bool built() { return true; }

void pack_a(uint32_t* dst, const float* A, int64_t lda, bool trans, int64_t i0, int64_t rows, int64_t K) {
  const int64_t kp = (K + 1) / 2, panel_words = kp * MR;
  for (int64_t p = 0; p * MR < rows; ++p, dst += panel_words) {
    const int64_t valid = min64(MR, rows - p * MR), i = i0 + p * MR;
    if (trans) {  // op(A)(i, k) = A[k·lda + i]: the panel's rows are contiguous in each A row
      const __mmask16 m = lanes(valid);
      for (int64_t q = 0; q < kp; ++q) {
        const int64_t k = 2 * q;
        const __m512i w = pair_rows(A + k * lda + i, k + 1 < K ? A + (k + 1) * lda + i : nullptr, m);
        _mm512_mask_storeu_epi32(dst + q * MR, lanes(MR), w);
      }
      continue;
    }
    // op(A)(i, k) = A[i·lda + k]: each row is contiguous along k; a transpose puts its words
    // at stride MR.
    const float* a = A + i * lda;
    transpose_pack(dst, MR, static_cast<int>(valid), K,
                   [&](int g, int64_t q0) { return pairs_along(a + g * lda + 2 * q0, K - 2 * q0); });
  }
}

// op(B)[k0:k0+kc, j0:j0+nc] as panels of NR columns, for T = float (rounded) or uint16_t (bf16 bits).
template <typename T>
void pack_b(uint32_t* dst, const T* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0, int64_t nc) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t jp = 0; jp < nc; jp += NR, dst += kp * NR) {
    const int64_t cols = min64(NR, nc - jp);
    if (!trans) {  // op(B)(k, j) = B[k·ldb + j]: rows k and k+1 give 16 words per half
      for (int64_t q = 0; q < kp; ++q) {
        const int64_t k = k0 + 2 * q;
        const T* lo = B + k * ldb + j0 + jp;
        const T* hi = 2 * q + 1 < kc ? lo + ldb : nullptr;
        _mm512_storeu_si512(dst + q * NR, pair_rows(lo, hi, lanes(cols)));
        _mm512_storeu_si512(dst + q * NR + 16, pair_rows(lo + 16, hi ? hi + 16 : nullptr, lanes(cols - 16)));
      }
      continue;
    }
    // op(B)(k, j) = B[j·ldb + k] (the weight [OC, IC] in the forward): column j is contiguous
    // along k; a transpose of pair words, 16 columns at a time.
    for (int h = 0; h < 2; ++h) {
      const T* col = B + (j0 + jp + 16 * h) * ldb + k0;
      transpose_pack(dst + 16 * h, NR, static_cast<int>(min64(16, cols - 16 * h)), kc,
                     [&](int g, int64_t q0) { return pairs_along(col + g * ldb + 2 * q0, kc - 2 * q0); });
    }
  }
}

void pack_b_f32(uint32_t* dst, const float* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0,
                int64_t nc) {
  pack_b(dst, B, ldb, trans, k0, kc, j0, nc);
}

void pack_b_bf16(uint32_t* dst, const uint16_t* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0,
                 int64_t nc) {
  pack_b(dst, B, ldb, trans, k0, kc, j0, nc);
}

void block(const uint32_t* a, int64_t a_panel_words, int64_t rows, const uint32_t* b, int64_t kc, int64_t nc,
           float* C, int64_t ldc, float alpha, float beta, const float* bias) {
  const int64_t kp = (kc + 1) / 2;
  for (int64_t ip = 0; ip < rows; ip += MR) {
    const int64_t R = min64(MR, rows - ip);
    const uint32_t* ap = a + (ip / MR) * a_panel_words;
    for (int64_t jp = 0; jp < nc; jp += NR) {
      const int64_t cols = min64(NR, nc - jp);
      const uint32_t* bp = b + (jp / NR) * kp * NR;
      float* cp = C + ip * ldc + jp;
      const float* bi = bias ? bias + jp : nullptr;
      switch (R) {
        case 12: micro<12>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 11: micro<11>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 10: micro<10>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 9: micro<9>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 8: micro<8>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 7: micro<7>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 6: micro<6>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 5: micro<5>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 4: micro<4>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 3: micro<3>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        case 2: micro<2>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
        default: micro<1>(kp, ap, bp, cp, ldc, cols, alpha, beta, bi); break;
      }
    }
  }
}

#else  // no compiler support: the driver never calls these (built() is false)

bool built() { return false; }
void pack_a(uint32_t*, const float*, int64_t, bool, int64_t, int64_t, int64_t) {}
void pack_b_f32(uint32_t*, const float*, int64_t, bool, int64_t, int64_t, int64_t, int64_t) {}
void pack_b_bf16(uint32_t*, const uint16_t*, int64_t, bool, int64_t, int64_t, int64_t, int64_t) {}
void block(const uint32_t*, int64_t, int64_t, const uint32_t*, int64_t, int64_t, float*, int64_t, float, float,
           const float*) {}

#endif

}  // namespace bf16k
}  // namespace cpu
}  // namespace hg
