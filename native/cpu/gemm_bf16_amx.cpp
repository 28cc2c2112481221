// The AMX micro-kernel and the packing it reads (contract and layouts: cpu/gemm_bf16_avx512.h,
// namespace amxk).
//
// Like cpu/gemm_bf16_avx512.cpp, this file is compiled for its target by the pragma below
// whatever the build's -march, holds only plain functions on raw pointers, and keeps everything
// else internal; cpuid and the OS's permission decide at run time whether it runs.
//
// Why tiles: one TDPBF16PS does 16·16·32 multiply-adds, 16 times the work of a 512-bit
// vdpbf16ps, so the AVX512-BF16 kernel reaches a fraction of what an AMX core can do.
#include "cpu/gemm_bf16_avx512.h"

#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 12) || (!defined(__clang__) && __GNUC__ >= 11))
#define HG_AMX_KERNEL 1
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512bf16,fma,amx-tile,amx-bf16")
#include <immintrin.h>
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace hg {
namespace cpu {
namespace amxk {

#ifdef HG_AMX_KERNEL
namespace {

using T = AmxGemmTraits;
static_assert(T::MR == 32 && T::NR == 32 && T::KC % 32 == 0 && T::NC % T::NR == 0, "2×2 tiles of 16×16");

#include "cpu/bf16_pack_avx512.inl"

constexpr int64_t kTileWords = 256;  // 16 rows × 16 words = 1 KiB

// Palette 1, tiles 0-7 all 16 rows of 64 bytes: 0-3 hold C, 4-5 A, 6-7 B.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// A column tile of op(B): 16 columns from j (cols of them valid) over kc rows from k0, as
// [ceil(kc/32)·16 k pairs][16 words]; the pairs past kc are 0.
template <typename E>
void pack_b_tile(uint32_t* dst, const E* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j, int64_t cols) {
  const int64_t kp = (kc + 1) / 2, rows = (kc + 31) / 32 * 16;
  if (cols <= 0) {
    for (int64_t q = 0; q < rows; ++q) _mm512_storeu_si512(dst + q * 16, _mm512_setzero_si512());
    return;
  }
  if (trans) {  // op(B)(k, j) = B[j·ldb + k]: each column contiguous along k
    const E* col = B + j * ldb + k0;
    transpose_pack(dst, 16, static_cast<int>(min64(16, cols)), kc,
                   [&](int g, int64_t q0) { return pairs_along(col + g * ldb + 2 * q0, kc - 2 * q0); });
  } else {  // op(B)(k, j) = B[k·ldb + j]: rows k and k+1 give the 16 words
    for (int64_t q = 0; q < kp; ++q) {
      const E* lo = B + (k0 + 2 * q) * ldb + j;
      _mm512_storeu_si512(dst + q * 16, pair_rows(lo, 2 * q + 1 < kc ? lo + ldb : nullptr, lanes(cols)));
    }
  }
  for (int64_t q = kp; q < rows; ++q) _mm512_storeu_si512(dst + q * 16, _mm512_setzero_si512());
}

template <typename E>
void pack_b(uint32_t* dst, const E* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0, int64_t nc) {
  const int64_t tile_words = (kc + 31) / 32 * kTileWords;
  const int64_t tiles = (nc + T::NR - 1) / T::NR * 2;
  for (int64_t t = 0; t < tiles; ++t) pack_b_tile(dst + t * tile_words, B, ldb, trans, k0, kc, j0 + 16 * t, nc - 16 * t);
}

// C[16·(t/2) + r][16·(t%2) + c] for the r < rows, c < cols of the 32×32 block in tiles acc[t]:
// alpha·acc + beta·C + bias.
inline void store_block(const float (*acc)[256], float* C, int64_t ldc, int64_t rows, int64_t cols, float alpha,
                        float beta, const float* bias) {
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int h = 0; h < 2; ++h) {
    const __mmask16 m = lanes(cols - 16 * h);
    if (!m) continue;
    const __m512 vbias = bias ? _mm512_maskz_loadu_ps(m, bias + 16 * h) : _mm512_setzero_ps();
    for (int64_t r = 0; r < rows; ++r) {
      float* row = C + r * ldc + 16 * h;
      __m512 x = _mm512_mul_ps(_mm512_load_ps(acc[(r / 16) * 2 + h] + (r % 16) * 16), va);
      if (beta != 0.f) x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, row), x);
      if (bias) x = _mm512_add_ps(x, vbias);
      _mm512_mask_storeu_ps(row, m, x);
    }
  }
}

}  // namespace

bool built() { return true; }

void pack_a(uint32_t* dst, const float* A, int64_t lda, bool trans, int64_t i0, int64_t rows, int64_t K) {
  const int64_t steps = (K + 31) / 32, tiles = (rows + T::MR - 1) / T::MR * 2;
  for (int64_t t = 0; t < tiles; ++t) {
    const int64_t i = i0 + 16 * t, valid = min64(16, rows - 16 * t);
    for (int64_t s = 0; s < steps; ++s) {
      uint32_t* d = dst + (t * steps + s) * kTileWords;
      if (trans) {  // op(A)(i, k) = A[k·lda + i]: rows k, k+1 pair up 16 A rows' values, then a transpose
        __m512i r[16], out[16];
        for (int q = 0; q < 16; ++q) {
          const int64_t k = 32 * s + 2 * q;
          r[q] = valid > 0 && k < K ? pair_rows(A + k * lda + i, k + 1 < K ? A + (k + 1) * lda + i : nullptr, lanes(valid))
                                    : _mm512_setzero_si512();
        }
        transpose16(r, out);
        for (int g = 0; g < 16; ++g) _mm512_storeu_si512(d + g * 16, out[g]);
        continue;
      }
      for (int64_t r = 0; r < 16; ++r) {  // op(A)(i, k) = A[i·lda + k]: 32 k of a row give its 16 words
        const __m512i w = r < valid ? pairs_along(A + (i + r) * lda + 32 * s, K - 32 * s) : _mm512_setzero_si512();
        _mm512_storeu_si512(d + r * 16, w);
      }
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

void block(const uint32_t* a, int64_t a_tile_words, int64_t rows, const uint32_t* b, int64_t kc, int64_t nc,
           float* C, int64_t ldc, float alpha, float beta, const float* bias) {
  static const TileConfig config;
  _tile_loadconfig(&config);
  alignas(64) float acc[4][256];
  const int64_t steps = (kc + 31) / 32, b_tile_words = steps * kTileWords;
  for (int64_t ip = 0; ip < rows; ip += T::MR) {
    const uint32_t* a0 = a + (ip / 16) * a_tile_words;
    const uint32_t* a1 = a0 + a_tile_words;
    for (int64_t jp = 0; jp < nc; jp += T::NR) {
      const uint32_t* b0 = b + (jp / 16) * b_tile_words;
      const uint32_t* b1 = b0 + b_tile_words;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t s = 0; s < steps; ++s) {
        _tile_loadd(4, a0 + s * kTileWords, 64);
        _tile_loadd(6, b0 + s * kTileWords, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_loadd(7, b1 + s * kTileWords, 64);
        _tile_dpbf16ps(1, 4, 7);
        _tile_loadd(5, a1 + s * kTileWords, 64);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      _tile_stored(0, acc[0], 64);
      _tile_stored(1, acc[1], 64);
      _tile_stored(2, acc[2], 64);
      _tile_stored(3, acc[3], 64);
      store_block(acc, C + ip * ldc + jp, ldc, min64(T::MR, rows - ip), min64(T::NR, nc - jp), alpha, beta,
                  bias ? bias + jp : nullptr);
    }
  }
  _tile_release();
}

#else  // no compiler support: the driver never calls these (built() is false)

bool built() { return false; }
void pack_a(uint32_t*, const float*, int64_t, bool, int64_t, int64_t, int64_t) {}
void pack_b_f32(uint32_t*, const float*, int64_t, bool, int64_t, int64_t, int64_t, int64_t) {}
void pack_b_bf16(uint32_t*, const uint16_t*, int64_t, bool, int64_t, int64_t, int64_t, int64_t) {}
void block(const uint32_t*, int64_t, int64_t, const uint32_t*, int64_t, int64_t, float*, int64_t, float, float,
           const float*) {}

#endif

}  // namespace amxk
}  // namespace cpu
}  // namespace hg
