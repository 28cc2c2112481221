// Fused attention forward on the CPU, FlashAttention style: each work item owns one block of
// kBlockQ query rows of one (batch, head), streams the key/value tiles past it with an online
// softmax, and writes its own rows of out and lse. No buffer grows with T².
//
// q, out: [B, H, T, D]   k, v: [B, KV, T, D]   lse: [B, H, T]
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "cpu/attention.h"
#include "core/thread_pool.h"
#include "cpu/attention_avx512.h"
#include "cpu/attention_tile.h"

namespace hg {
namespace cpu {

namespace {

struct HeadPtrs {
  const float *q, *k, *v;
  float *out, *lse;
};

// Rows [i0, i1) of one head. Per row: running max m, running sum l, and the unnormalised
// output accumulated in place in out, rescaled by e^(m_old - m_new) when the max grows.
// With a sliding window the key tiles before the window of row i0 are not visited. softcap > 0:
// the scores are capped (soft_cap) before the softmax.
void forward_query_block(const HeadPtrs& h, int64_t i0, int64_t i1, int64_t T, int64_t D,
                         bool causal, float scale, int64_t window, float softcap) {
  constexpr int64_t BK = AttnTiles::kBlockK;
  AttnScratch& w = AttnScratch::for_this_thread(D);
  float m[AttnTiles::kBlockQ], l[AttnTiles::kBlockQ];
  for (int64_t i = i0; i < i1; ++i) {
    m[i - i0] = -std::numeric_limits<float>::infinity();
    l[i - i0] = 0.f;
    std::fill(h.out + i * D, h.out + (i + 1) * D, 0.f);
  }
  const int64_t kend = causal ? i1 : T;
  const int64_t kbegin = window > 0 ? std::max<int64_t>(0, i0 - window + 1) / BK * BK : 0;
  for (int64_t j0 = kbegin; j0 < kend; j0 += BK) {
    const int64_t n = std::min(BK, kend - j0);
    load_transposed(h.k + j0 * D, n, D, w.kT.data());
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t nv = visible_keys(causal, i, j0, n), a = first_visible_key(window, i, j0);
      if (nv <= a) continue;
      float* s = w.s.data();
      row_scores(h.q + i * D, w.kT.data(), D, scale, s);
      if (softcap > 0) soft_cap(s, softcap);
      std::fill(s + nv, s + BK, -std::numeric_limits<float>::infinity());  // masked keys
      std::fill(s, s + a, -std::numeric_limits<float>::infinity());       // before the window
      const float mx = std::max(m[i - i0], tile_max(s));
      const float corr = std::exp(m[i - i0] - mx);  // 0 on the first tile (m = -inf)
      for (int64_t j = 0; j < BK; ++j) s[j] = exp_tile(s[j] - mx);
      m[i - i0] = mx;
      l[i - i0] = l[i - i0] * corr + tile_sum(s);
      float* o = h.out + i * D;
      if (corr != 1.f)
        for (int64_t d = 0; d < D; ++d) o[d] *= corr;
      accumulate_rows(s + a, 1, h.v + (j0 + a) * D, D, nv - a, D, o);
    }
  }
  for (int64_t i = i0; i < i1; ++i) {
    const float inv = 1.f / l[i - i0];
    for (int64_t d = 0; d < D; ++d) h.out[i * D + d] *= inv;
    h.lse[i] = m[i - i0] + std::log(l[i - i0]);
  }
}

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse,
                       const AttnShape& s, const AttnParams& p) {
  // the AVX-512 kernels have no sliding window or soft-capping: those calls run the portable ones
  if (p.window == 0 && p.softcap == 0 && attention_avx512_enabled(s)) return attention_forward_avx512(q, k, v, out, lse, s, p);
  attention_forward_portable(q, k, v, out, lse, s, p);
}

bool attention_avx512_enabled(const AttnShape& s) {
  static const bool portable_only = [] {
    const char* e = std::getenv("HEADGRAD_ATTENTION");
    return e && std::strcmp(e, "portable") == 0;
  }();
  return !portable_only && attention_forward_avx512_applies(s);
}

void attention_forward_portable(const float* q, const float* k, const float* v, float* out, float* lse,
                                const AttnShape& s, const AttnParams& p) {
  validate_attention(s, p);
  const float scale = effective_scale(s, p);
  const int64_t T = s.T, D = s.D;
  const int64_t nqb = (T + AttnTiles::kBlockQ - 1) / AttnTiles::kBlockQ;
  const int64_t H = s.H, group = s.H / s.kv();
  parallel_for(s.B * s.H * nqb, [&](int64_t item) {
    const int64_t bh = item / nqb, qb = item % nqb;
    const int64_t off = bh * T * D;
    const int64_t kv_off = ((bh / H) * s.kv() + (bh % H) / group) * T * D;  // k/v head of query head bh % H
    const HeadPtrs h{q + off, k + kv_off, v + kv_off, out + off, lse + bh * T};
    const int64_t i0 = qb * AttnTiles::kBlockQ;
    forward_query_block(h, i0, std::min(T, i0 + AttnTiles::kBlockQ), T, D, p.causal, scale, p.window, p.softcap);
  }, s.B * s.H * T * T * D / 8);
}

}  // namespace cpu
}  // namespace hg
