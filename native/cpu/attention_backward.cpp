// Fused attention backward on the CPU, in FlashAttention's three stages:
//   1. preprocess: D(t) = rowsum(dout ∘ out) per row, and head_score = Σ_t D(t) from that same D;
//   2. the main loops, recomputing P = exp(scale·q kᵀ − lse) tile by tile (never stored);
//   3. no postprocess: dq is accumulated in f32 directly in its owner's rows.
//
// Determinism without float atomics: dk/dv and dq are produced by two disjoint sets of work
// items. A key-block item owns its rows of dk and dv and loops over the queries; a query-block
// item owns its rows of dq and loops over the keys. Each output is summed by one thread in a
// fixed order, at the price of recomputing S and dP once more (7 tile products instead of 5).
//
// dout, q, k, v, out, dq, dk, dv: [B, H, T, D]   lse: [B, H, T]   head_score: [B, H] or null
#include <algorithm>
#include <vector>

#include "core/attention.h"
#include "core/thread_pool.h"
#include "cpu/attention_tile.h"

namespace hg {
namespace cpu {

namespace {

struct HeadGrads {
  const float *dout, *q, *k, *v, *out, *lse, *Drow;
  float *dq, *dk, *dv;
};

// Stage 1 for one head: Drow[t] = Σ_d dout[t,d]·out[t,d]; returns Σ_t Drow[t] in t order.
double preprocess_head(const float* dout, const float* out, int64_t T, int64_t D, float* Drow) {
  double total = 0.0;
  for (int64_t t = 0; t < T; ++t) {
    double acc = 0.0;
    for (int64_t d = 0; d < D; ++d) acc += static_cast<double>(dout[t * D + d]) * out[t * D + d];
    Drow[t] = static_cast<float>(acc);
    total += Drow[t];
  }
  return total;
}

// For query row i against the n keys of the tile held in w.kT / w.vT (nv of them visible):
//   forward  P = softmax_row(S)         ->  p[j]  = exp(s[j] − lse[i])
//   forward  out = P v                  ->  dp[j] = dout[i] · v[j]
//   forward  softmax                    ->  ds[j] = p[j] · (dp[j] − D(i))   (written into dp)
void tile_row_grads(const HeadGrads& h, AttnScratch& w, int64_t i, int64_t nv, int64_t D,
                    float scale) {
  float *s = w.s.data(), *p = w.p.data(), *ds = w.dp.data();
  row_scores(h.q + i * D, w.kT.data(), nv, D, scale, s);
  for (int64_t j = 0; j < nv; ++j) p[j] = exp_tile(s[j] - h.lse[i]);
  row_scores(h.dout + i * D, w.vT.data(), nv, D, 1.f, ds);
  const float Di = h.Drow[i];
  for (int64_t j = 0; j < nv; ++j) ds[j] = p[j] * (ds[j] - Di);
}

// Keys [j0, j0+n) of one head own dk and dv there:
//   forward  out = P v       ->  dv[j] += p[j] · dout[i]
//   forward  S = scale·q kᵀ  ->  dk[j] += scale · ds[j] · q[i]
void backward_key_block(const HeadGrads& h, int64_t j0, int64_t n, int64_t T, int64_t D,
                        bool causal, float scale) {
  AttnScratch& w = AttnScratch::for_this_thread(D);
  load_transposed(h.k + j0 * D, n, D, w.kT.data());
  load_transposed(h.v + j0 * D, n, D, w.vT.data());
  std::fill(h.dk + j0 * D, h.dk + (j0 + n) * D, 0.f);
  std::fill(h.dv + j0 * D, h.dv + (j0 + n) * D, 0.f);
  for (int64_t i = causal ? j0 : 0; i < T; ++i) {
    const int64_t nv = visible_keys(causal, i, j0, n);
    tile_row_grads(h, w, i, nv, D, scale);
    for (int64_t j = 0; j < nv; ++j) {
      axpy(w.p[j], h.dout + i * D, D, h.dv + (j0 + j) * D);
      axpy(scale * w.dp[j], h.q + i * D, D, h.dk + (j0 + j) * D);
    }
  }
}

// Query rows [i0, i1) of one head own dq there:
//   forward  S = scale·q kᵀ  ->  dq[i] += scale · ds[j] · k[j]
void backward_query_block(const HeadGrads& h, int64_t i0, int64_t i1, int64_t T, int64_t D,
                          bool causal, float scale) {
  constexpr int64_t BK = AttnTiles::kBlockK;
  AttnScratch& w = AttnScratch::for_this_thread(D);
  std::fill(h.dq + i0 * D, h.dq + i1 * D, 0.f);
  const int64_t kend = causal ? i1 : T;
  for (int64_t j0 = 0; j0 < kend; j0 += BK) {
    const int64_t n = std::min(BK, kend - j0);
    load_transposed(h.k + j0 * D, n, D, w.kT.data());
    load_transposed(h.v + j0 * D, n, D, w.vT.data());
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t nv = visible_keys(causal, i, j0, n);
      if (nv <= 0) continue;
      tile_row_grads(h, w, i, nv, D, scale);
      for (int64_t j = 0; j < nv; ++j) axpy(scale * w.dp[j], h.k + (j0 + j) * D, D, h.dq + i * D);
    }
  }
}

}  // namespace

void attention_backward(const float* dout, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, float* dq, float* dk, float* dv,
                        float* head_score, const AttnShape& s, const AttnParams& p) {
  validate_attention(s, p);
  const float scale = effective_scale(s, p);
  const int64_t T = s.T, D = s.D, BH = s.B * s.H;

  // Stage 1. D is O(B·H·T); head_score reuses it, so capture costs one add per row.
  std::vector<float> Drow(static_cast<size_t>(BH * T));
  parallel_for(BH, [&](int64_t bh) {
    const double total = preprocess_head(dout + bh * T * D, out + bh * T * D, T, D, &Drow[bh * T]);
    if (head_score) head_score[bh] = static_cast<float>(total);
  });

  // Stage 2. Items [0, BH·nkb) are key blocks (dk, dv); the rest are query blocks (dq).
  const int64_t nkb = (T + AttnTiles::kBlockK - 1) / AttnTiles::kBlockK;
  const int64_t nqb = (T + AttnTiles::kBlockQ - 1) / AttnTiles::kBlockQ;
  parallel_for(BH * (nkb + nqb), [&](int64_t item) {
    const bool key_item = item < BH * nkb;
    const int64_t local = key_item ? item : item - BH * nkb;
    const int64_t per_head = key_item ? nkb : nqb;
    const int64_t bh = local / per_head, blk = local % per_head;
    const int64_t off = bh * T * D;
    const HeadGrads h{dout + off, q + off, k + off, v + off, out + off, lse + bh * T,
                      &Drow[bh * T], dq + off, dk + off, dv + off};
    if (key_item) {
      const int64_t j0 = blk * AttnTiles::kBlockK;
      backward_key_block(h, j0, std::min(AttnTiles::kBlockK, T - j0), T, D, p.causal, scale);
    } else {
      const int64_t i0 = blk * AttnTiles::kBlockQ;
      backward_query_block(h, i0, std::min(T, i0 + AttnTiles::kBlockQ), T, D, p.causal, scale);
    }
  });
}

}  // namespace cpu
}  // namespace hg
