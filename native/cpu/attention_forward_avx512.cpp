// The attention forward built like a GEMM, for AVX-512 and head sizes D that are multiples of
// 16 (core/attention.h contract; cpu/attention_forward.cpp dispatches here and keeps the
// portable kernel for every other case).
//
// Per k/v head, K is packed once into transposed, zero-padded tiles Kt [ntiles][D][BK] so that the
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
#include "cpu/attention_avx512_kernels.h"
#endif

namespace hg {
namespace cpu {

#if defined(__AVX512F__)
namespace {
using namespace avx512;

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
      rows_axpy(orow, corr, &p[0][0], BK, 1, v + j0 * D, D, n, D);
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
  const int64_t T = s.T, D = s.D, H = s.H, KVH = s.kv(), group = H / KVH, BK = Tiles::BK;
  const int64_t ntiles = (T + BK - 1) / BK, tile_head = ntiles * D * BK;
  // K packed once per k/v head (B·KV·ntiles·D·BK floats: K's size rounded up to whole tiles);
  // with grouped-query attention the H/KV query heads of a group share it.
  std::vector<float> Kt(static_cast<size_t>(s.B * KVH * tile_head));
  parallel_for(s.B * KVH, [&](int64_t bkv) { pack_k(k + bkv * T * D, T, D, &Kt[bkv * tile_head]); }, s.B * KVH * T * D);
  const int64_t nqb = (T + Tiles::kBlockQ - 1) / Tiles::kBlockQ;
  parallel_for(s.B * H * nqb, [&](int64_t item) {
    const int64_t bh = item / nqb, i0 = (item % nqb) * Tiles::kBlockQ;
    const int64_t bkv = (bh / H) * KVH + (bh % H) / group;  // the k/v head of query head bh % H
    thread_local std::vector<float> obuf;
    obuf.resize(static_cast<size_t>(Tiles::RQ * D));
    const int64_t off = bh * T * D;
    forward_rows(q + off, &Kt[bkv * tile_head], v + bkv * T * D, out + off, lse + bh * T, i0,
                 std::min(T, i0 + Tiles::kBlockQ), T, D, p.causal, scale, obuf.data());
  }, s.B * H * T * T * D / 8);
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
