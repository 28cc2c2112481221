// The AVX-512 micro-kernels shared by the register-blocked attention forward and backward
// (cpu/attention_forward_avx512.cpp, cpu/attention_backward_avx512.cpp). Include only where
// __AVX512F__ is defined. D (the head size) is a multiple of 16 throughout.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

// GCC 12's _mm512_reduce_*_ps start from _mm512_undefined_* values, which -Wall reports as
// "may be used uninitialized" once inlined; the lanes in question are never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace hg {
namespace cpu {
namespace avx512 {

struct Tiles {
  static constexpr int64_t RQ = 4;    // query rows per register tile
  static constexpr int64_t BK = 64;   // keys per tile: 4 vectors of 16
  static constexpr int64_t DS = 64;   // D slice of the P·V micro-kernel: 4 vectors
  static constexpr int64_t kBlockQ = 64;  // query rows per work item
};
constexpr int64_t KV = Tiles::BK / 16;

// A loaded vector that the compiler must keep in a register: without this, GCC folds the load
// into every FMA that uses it, and a register tile of R rows then loads each vector R times,
// which makes the micro-kernels load-bound instead of FMA-bound.
inline __m512 in_register(__m512 x) {
  asm("" : "+v"(x));
  return x;
}

// e^x, the same reduction and polynomial as exp_tile (attention_tile.h), 16 lanes at a time.
inline __m512 exp16(__m512 x) {
  const __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.f)), _mm512_set1_ps(88.f));
  const __m512 kRound = _mm512_set1_ps(12582912.f);
  const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(xc, _mm512_set1_ps(1.44269504f), kRound), kRound);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
  __m512 e = _mm512_set1_ps(1.f / 720);
  e = _mm512_fmadd_ps(e, r, _mm512_set1_ps(1.f / 120));
  e = _mm512_fmadd_ps(e, r, _mm512_set1_ps(1.f / 24));
  e = _mm512_fmadd_ps(e, r, _mm512_set1_ps(1.f / 6));
  e = _mm512_fmadd_ps(e, r, _mm512_set1_ps(0.5f));
  e = _mm512_fmadd_ps(e, r, _mm512_set1_ps(1.f));
  e = _mm512_fmadd_ps(e, r, _mm512_set1_ps(1.f));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  const __m512 y = _mm512_mul_ps(e, _mm512_castsi512_ps(bits));
  const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.f), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(under, y, _mm512_setzero_ps());
}

// k [T, D] -> Kt [ntiles][D][BK], keys past T zero.
inline void pack_k(const float* k, int64_t T, int64_t D, float* Kt) {
  constexpr int64_t BK = Tiles::BK;
  const int64_t ntiles = (T + BK - 1) / BK;
  for (int64_t t = 0; t < ntiles; ++t) {
    float* dst = Kt + t * D * BK;
    const int64_t n = std::min(BK, T - t * BK);
    for (int64_t d = 0; d < D; ++d)
      for (int64_t j = n; j < BK; ++j) dst[d * BK + j] = 0.f;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t d = 0; d < D; ++d) dst[d * BK + j] = k[(t * BK + j) * D + d];
  }
}

// S[r][0..BK) = scale · q_r · Kt_tile for RQ rows (q rows given by pointer).
inline void scores(const float* const* qr, const float* kt, int64_t D, float scale, __m512 s[Tiles::RQ][KV]) {
  #pragma GCC unroll 4
  for (int64_t r = 0; r < Tiles::RQ; ++r)
    #pragma GCC unroll 4
    for (int64_t v = 0; v < KV; ++v) s[r][v] = _mm512_setzero_ps();
  for (int64_t d = 0; d < D; ++d) {
    const float* kd = kt + d * Tiles::BK;
    __m512 kv[KV];
    #pragma GCC unroll 4
    for (int64_t v = 0; v < KV; ++v) kv[v] = in_register(_mm512_loadu_ps(kd + 16 * v));
    #pragma GCC unroll 4
    for (int64_t r = 0; r < Tiles::RQ; ++r) {
      const __m512 qb = _mm512_set1_ps(qr[r][d]);
      #pragma GCC unroll 4
      for (int64_t v = 0; v < KV; ++v) s[r][v] = _mm512_fmadd_ps(qb, kv[v], s[r][v]);
    }
  }
  const __m512 sc = _mm512_set1_ps(scale);
  #pragma GCC unroll 4
  for (int64_t r = 0; r < Tiles::RQ; ++r)
    #pragma GCC unroll 4
    for (int64_t v = 0; v < KV; ++v) s[r][v] = _mm512_mul_ps(s[r][v], sc);
}

// The register micro-kernel behind every "rows += coefficients × rows" product here, for RQ
// output rows and one slice of NV vectors (16·NV floats from d0):
//   out_r[d0..) = c_r · out_r[d0..) + Σ_{j<n} coef[r·so + j·si] · X[j·ldx + d0..)
// (c_r = 1 when c is null). The RQ·NV accumulators stay in registers across all j; each X
// vector is loaded once and used RQ times. A template per width keeps them plain registers.
template <int NV>
inline void rows_axpy_slice(float* const* out, const float* c, const float* coef, int64_t so, int64_t si,
                            const float* X, int64_t ldx, int64_t n, int64_t d0) {
  __m512 acc[Tiles::RQ][NV];
#pragma GCC unroll 4
  for (int64_t r = 0; r < Tiles::RQ; ++r) {
    const __m512 cr = _mm512_set1_ps(c ? c[r] : 1.f);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_mul_ps(cr, _mm512_loadu_ps(out[r] + d0 + 16 * v));
  }
  for (int64_t j = 0; j < n; ++j) {
    const float* xj = X + j * ldx + d0;
    __m512 xv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) xv[v] = in_register(_mm512_loadu_ps(xj + 16 * v));
#pragma GCC unroll 4
    for (int64_t r = 0; r < Tiles::RQ; ++r) {
      const __m512 cb = _mm512_set1_ps(coef[r * so + j * si]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(cb, xv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 4
  for (int64_t r = 0; r < Tiles::RQ; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(out[r] + d0 + 16 * v, acc[r][v]);
}

// rows_axpy_slice over all of D (a multiple of 16), in slices of DS floats.
inline void rows_axpy(float* const* out, const float* c, const float* coef, int64_t so, int64_t si,
                      const float* X, int64_t ldx, int64_t n, int64_t D) {
  for (int64_t d0 = 0; d0 < D; d0 += Tiles::DS) {
    switch (std::min<int64_t>(Tiles::DS, D - d0) / 16) {
      case 4: rows_axpy_slice<4>(out, c, coef, so, si, X, ldx, n, d0); break;
      case 3: rows_axpy_slice<3>(out, c, coef, so, si, X, ldx, n, d0); break;
      case 2: rows_axpy_slice<2>(out, c, coef, so, si, X, ldx, n, d0); break;
      default: rows_axpy_slice<1>(out, c, coef, so, si, X, ldx, n, d0); break;
    }
  }
}
}  // namespace avx512
}  // namespace cpu
}  // namespace hg
