// The attention forward built like a GEMM, for AVX-512 and head sizes D that are multiples of
// 16 (core/attention.h contract; cpu/attention_forward.cpp dispatches here and keeps the
// portable kernel for every other case).
//
// Per head, K is packed once into transposed, zero-padded tiles Kt [ntiles][D][BK] so that the
// score micro-kernel reads BK keys as BK/16 vectors. A work item owns a block of query rows and
// walks them RQ rows at a time:
//   S [RQ, BK]  = scale · q kᵀ   RQ·BK/16 accumulators in registers over the whole pass over d
//   P           = exp(S − m_new) with the online-softmax running max m and sum l per row
//   O [RQ, D]  += P v            per 64-float slice of D, RQ·4 accumulators in registers over
//                                all keys of the tile (V rows are read in place: already [T, D])
// and O is rescaled by e^(m_old − m_new) once per tile. Rows past the block's end repeat its
// last row and are never stored, so every register tile is full.
//
// Determinism: an item writes only its own rows, and each row's arithmetic is the same whatever
// the block it falls in, so results do not depend on the thread count.
#include "cpu/attention_avx512.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/attention_tile.h"

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12's _mm512_reduce_*_ps start from _mm512_undefined_* values, which -Wall reports as
// "may be used uninitialized" once inlined here; the lanes in question are never read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace hg {
namespace cpu {

#if defined(__AVX512F__)
namespace {

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
void pack_k(const float* k, int64_t T, int64_t D, float* Kt) {
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

// One slice of NV vectors (16·NV floats from d0) of RQ output rows:
//   o_r[d0..) = corr_r · o_r[d0..) + Σ_{j<nv} p[r][j] · V[j][d0..)
// A template per width so that the RQ·NV accumulators are plain registers across all keys.
template <int NV>
inline void pv_slice(float* const* orow, const float* corr, const float p[Tiles::RQ][Tiles::BK], const float* V,
                     int64_t nv, int64_t D, int64_t d0) {
  __m512 acc[Tiles::RQ][NV];
#pragma GCC unroll 4
  for (int64_t r = 0; r < Tiles::RQ; ++r) {
    const __m512 c = _mm512_set1_ps(corr[r]);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_mul_ps(c, _mm512_loadu_ps(orow[r] + d0 + 16 * v));
  }
  for (int64_t j = 0; j < nv; ++j) {
    const float* vj = V + j * D + d0;
    __m512 vv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) vv[v] = in_register(_mm512_loadu_ps(vj + 16 * v));
#pragma GCC unroll 4
    for (int64_t r = 0; r < Tiles::RQ; ++r) {
      const __m512 pb = _mm512_set1_ps(p[r][j]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(pb, vv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 4
  for (int64_t r = 0; r < Tiles::RQ; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(orow[r] + d0 + 16 * v, acc[r][v]);
}

// o_r = corr_r · o_r + P_r · V for RQ rows over D (a multiple of 16), in slices of 64 floats.
inline void accumulate_pv(float* const* orow, const float* corr, const float p[Tiles::RQ][Tiles::BK],
                          const float* V, int64_t nv, int64_t D) {
  for (int64_t d0 = 0; d0 < D; d0 += Tiles::DS) {
    switch (std::min<int64_t>(Tiles::DS, D - d0) / 16) {
      case 4: pv_slice<4>(orow, corr, p, V, nv, D, d0); break;
      case 3: pv_slice<3>(orow, corr, p, V, nv, D, d0); break;
      case 2: pv_slice<2>(orow, corr, p, V, nv, D, d0); break;
      default: pv_slice<1>(orow, corr, p, V, nv, D, d0); break;
    }
  }
}

// Rows [i0, i1) of one head; Kt is the head's packed K; obuf holds RQ rows of D floats.
void forward_rows(const float* q, const float* Kt, const float* v, float* out, float* lse, int64_t i0,
                  int64_t i1, int64_t T, int64_t D, bool causal, float scale, float* obuf) {
  constexpr int64_t RQ = Tiles::RQ, BK = Tiles::BK;
  const float kNegInf = -std::numeric_limits<float>::infinity();
  for (int64_t g = i0; g < i1; g += RQ) {
    const float* qr[RQ];
    float* orow[RQ];
    int64_t row[RQ];
    float m[RQ], l[RQ];
    #pragma GCC unroll 4
    for (int64_t r = 0; r < RQ; ++r) {
      row[r] = std::min(g + r, i1 - 1);  // rows past the block repeat the last one
      qr[r] = q + row[r] * D;
      orow[r] = obuf + r * D;
      std::fill(orow[r], orow[r] + D, 0.f);
      m[r] = kNegInf;
      l[r] = 0.f;
    }
    const int64_t kend = causal ? row[RQ - 1] + 1 : T;
    for (int64_t j0 = 0; j0 < kend; j0 += BK) {
      const int64_t n = std::min(BK, kend - j0);
      __m512 s[RQ][KV];
      scores(qr, Kt + (j0 / BK) * D * BK, D, scale, s);
      alignas(64) float p[RQ][BK];
      float corr[RQ];
      #pragma GCC unroll 4
      for (int64_t r = 0; r < RQ; ++r) {
        const int64_t nv = causal ? std::min(n, row[r] - j0 + 1) : n;  // >= 1: key 0 is always visible
        __m512 mx = _mm512_set1_ps(kNegInf);
        #pragma GCC unroll 4
        for (int64_t v = 0; v < KV; ++v) {
          const int64_t left = std::max<int64_t>(0, std::min<int64_t>(16, nv - 16 * v));
          const __mmask16 keep = static_cast<__mmask16>(left == 16 ? 0xffff : (1u << left) - 1);
          s[r][v] = _mm512_mask_blend_ps(keep, _mm512_set1_ps(kNegInf), s[r][v]);
          mx = _mm512_max_ps(mx, s[r][v]);
        }
        const float mnew = std::max(m[r], _mm512_reduce_max_ps(mx));
        corr[r] = std::exp(m[r] - mnew);  // 0 on the first tile (m = -inf)
        const __m512 mb = _mm512_set1_ps(mnew);
        __m512 sum = _mm512_setzero_ps();
        #pragma GCC unroll 4
        for (int64_t v = 0; v < KV; ++v) {
          const __m512 e = exp16(_mm512_sub_ps(s[r][v], mb));
          sum = _mm512_add_ps(sum, e);
          _mm512_store_ps(&p[r][16 * v], e);
        }
        l[r] = l[r] * corr[r] + _mm512_reduce_add_ps(sum);
        m[r] = mnew;
      }
      // Keys past a row's causal limit have p = 0, so all rows can share the longest range.
      accumulate_pv(orow, corr, p, v + j0 * D, n, D);
    }
    for (int64_t r = 0; r < RQ && g + r < i1; ++r) {
      const float inv = 1.f / l[r];
      for (int64_t d = 0; d < D; ++d) out[(g + r) * D + d] = orow[r][d] * inv;
      lse[g + r] = m[r] + std::log(l[r]);
    }
  }
}

}  // namespace

bool attention_forward_avx512_applies(const AttnShape& s) { return s.D % 16 == 0; }

void attention_forward_avx512(const float* q, const float* k, const float* v, float* out, float* lse,
                              const AttnShape& s, const AttnParams& p) {
  validate_attention(s, p);
  const float scale = effective_scale(s, p);
  const int64_t T = s.T, D = s.D, BH = s.B * s.H, BK = Tiles::BK;
  const int64_t ntiles = (T + BK - 1) / BK;
  // K packed once per head (B·H·ntiles·D·BK floats: K's size rounded up to whole tiles).
  std::vector<float> Kt(static_cast<size_t>(BH * ntiles * D * BK));
  parallel_for(BH, [&](int64_t bh) { pack_k(k + bh * T * D, T, D, &Kt[bh * ntiles * D * BK]); });
  const int64_t nqb = (T + Tiles::kBlockQ - 1) / Tiles::kBlockQ;
  parallel_for(BH * nqb, [&](int64_t item) {
    const int64_t bh = item / nqb, i0 = (item % nqb) * Tiles::kBlockQ;
    thread_local std::vector<float> obuf;
    obuf.resize(static_cast<size_t>(Tiles::RQ * D));
    const int64_t off = bh * T * D;
    forward_rows(q + off, &Kt[bh * ntiles * D * BK], v + off, out + off, lse + bh * T, i0,
                 std::min(T, i0 + Tiles::kBlockQ), T, D, p.causal, scale, obuf.data());
  });
}

#else  // no AVX-512: the portable kernel runs

bool attention_forward_avx512_applies(const AttnShape&) { return false; }
void attention_forward_avx512(const float*, const float*, const float*, float*, float*, const AttnShape&,
                              const AttnParams&) {
  throw_error("attention_forward_avx512: this build has no AVX-512");
}

#endif

}  // namespace cpu
}  // namespace hg
