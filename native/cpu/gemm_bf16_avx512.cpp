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

#include "cpu/bf16_pack_avx512.inl"

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
