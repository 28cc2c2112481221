// Fused attention backward on the CPU, in FlashAttention's three stages:
//   1. preprocess: D(t) = rowsum(dout ∘ out) per row, and head_score = Σ_t D(t) from that same D;
//   2. the main loop over key blocks, recomputing P = exp(scale·q kᵀ − lse) tile by tile (never
//      stored), producing dk, dv and partial sums of dq;
//   3. postprocess: dq = the sum of its partials.
// Stage 2 runs cpu/attention_backward_avx512.cpp's register-blocked key block where it applies.
//
// Determinism without float atomics: the key blocks of a head are dealt round-robin to G work
// items ("key groups"). An item owns the dk/dv rows of its key blocks and one private dq
// partial [T, D], visits its blocks in increasing order, and stage 3 sums the G partials in
// group order. G depends only on the shape (not on the thread count or the scheduling), so
// results are the same on any number of threads. The partials cost G·T·D floats per head
// (O(T), never O(T²)); with G = 1 the item writes dq directly.
//
// Grouped-query attention (KV < H): an item owns the dk/dv rows of its key blocks of one k/v
// head and runs the H/KV query heads of that group past them one after another, in increasing
// h, each query head with its own dq partial; so dk/dv = Σ over the group in a fixed order.
//
// dout, q, out, dq: [B, H, T, D]   k, v, dk, dv: [B, KV, T, D]   lse: [B, H, T]
// head_score: [B, H] or null
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/attention.h"
#include "core/thread_pool.h"
#include "cpu/attention_avx512.h"
#include "cpu/attention_tile.h"

namespace hg {
namespace cpu {

namespace {

struct HeadGrads {
  const float *dout, *q, *k, *v, *out, *lse, *Drow;
  float *dk, *dv;
  float gain;  // dout counts gain times in dq, dk, dv (AttnParams::gains; 1 without)
  float softcap;  // AttnParams::softcap (0: none)
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

// For query row i against the key tile held in w.kT / w.vT, of which nv keys are visible; writes
// score row r of w.p and w.ds (zero past nv, so row groups can share one loop bound):
//   forward  P = softmax_row(S)         ->  p[j]  = exp(s[j] − lse[i])
//   forward  out = P v                  ->  dp[j] = dout[i] · v[j]
//   forward  P = softmax_row(S)         ->  ds[j] = p[j] · (dp[j] − D(i)),  stored times scale
//                                           because both users multiply by it (S = scale·q kᵀ)
// With a gain g (the head's gate under GQA), p and ds are stored times g: dv, dk and dq are
// linear in dout. g = 1 multiplies exactly, so results without gains are unchanged.
// Keys before a (a sliding window's start) are masked like those past nv.
// Soft-capping: forward S = cap·tanh(S₀/cap), S₀ = scale·q kᵀ  ->  dS₀ = dS·(1 − tanh²), which
// ds carries (a separate loop, so that the uncapped one stays as it was).
void tile_row_grads(const HeadGrads& h, AttnScratch& w, int64_t i, int64_t a, int64_t nv, int64_t D,
                    float scale, int64_t r) {
  constexpr int64_t BK = AttnTiles::kBlockK;
  float *s = w.s.data(), *p = w.p.data() + r * BK, *ds = w.ds.data() + r * BK;
  row_scores(h.q + i * D, w.kT.data(), D, scale, s);
  row_scores(h.dout + i * D, w.vT.data(), D, 1.f, ds);
  const float lse = h.lse[i], Di = h.Drow[i], g = h.gain, gscale = g * scale;
  if (h.softcap > 0) {
    const float cap = h.softcap, inv = 1.f / cap;
    for (int64_t j = 0; j < BK; ++j) {
      const float t = std::tanh(s[j] * inv);
      const float pj = j >= a && j < nv ? exp_tile(cap * t - lse) : 0.f;
      p[j] = g * pj;
      ds[j] = gscale * pj * (ds[j] - Di) * (1.f - t * t);
    }
    return;
  }
  for (int64_t j = 0; j < BK; ++j) {
    const float pj = j >= a && j < nv ? exp_tile(s[j] - lse) : 0.f;
    p[j] = g * pj;
    ds[j] = gscale * pj * (ds[j] - Di);
  }
}

// Keys [j0, j0+n) of one head own dk and dv there; dq_part is the item's own dq partial.
// Query rows come in groups of kRowGroup so that each dk/dv row is updated once per group:
//   forward  out = P v       ->  dv[j] += Σ_i p[i][j] · dout[i]
//   forward  S = scale·q kᵀ  ->  dk[j] += Σ_i scale · ds[i][j] · q[i]
//                            ->  dq[i] += Σ_j scale · ds[i][j] · k[j]
// first: the first query head of its k/v group (it starts dk/dv at zero, later ones add).
// With a sliding window, the query rows past the window of the block's last key are not visited.
void backward_key_block(const HeadGrads& h, float* dq_part, int64_t j0, int64_t n, int64_t T,
                        int64_t D, bool causal, float scale, int64_t window, bool first) {
  constexpr int64_t BK = AttnTiles::kBlockK, RG = AttnTiles::kRowGroup;
  AttnScratch& w = AttnScratch::for_this_thread(D);
  load_transposed(h.k + j0 * D, n, D, w.kT.data());
  load_transposed(h.v + j0 * D, n, D, w.vT.data());
  if (first) {
    std::fill(h.dk + j0 * D, h.dk + (j0 + n) * D, 0.f);
    std::fill(h.dv + j0 * D, h.dv + (j0 + n) * D, 0.f);
  }
  const int64_t iend = window > 0 ? std::min(T, j0 + n - 1 + window) : T;
  for (int64_t i = causal ? j0 : 0; i < iend; i += RG) {
    const int64_t rows = std::min(RG, iend - i);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t nv = visible_keys(causal, i + r, j0, n);
      tile_row_grads(h, w, i + r, first_visible_key(window, i + r, j0), nv, D, scale, r);
      accumulate_rows(w.ds.data() + r * BK, 1, h.k + j0 * D, D, nv, D, dq_part + (i + r) * D);
    }
    for (int64_t j = 0; j < n; ++j) {
      accumulate_rows(w.p.data() + j, BK, h.dout + i * D, D, rows, D, h.dv + (j0 + j) * D);
      accumulate_rows(w.ds.data() + j, BK, h.q + i * D, D, rows, D, h.dk + (j0 + j) * D);
    }
  }
}

// Enough key groups for about kMinItems work items in all, at most one per key block.
int64_t key_groups(int64_t BH, int64_t nkb) {
  constexpr int64_t kMinItems = 32;
  return std::min(nkb, std::max<int64_t>(1, (kMinItems + BH - 1) / BH));
}

void backward_with(bool avx512, const float* dout, const float* q, const float* k, const float* v,
                   const float* out, const float* lse, float* dq, float* dk, float* dv,
                   float* head_score, const AttnShape& s, const AttnParams& p) {
  validate_attention(s, p);
  const float scale = effective_scale(s, p);
  const int64_t T = s.T, D = s.D, H = s.H, KV = s.kv(), BH = s.B * H, BKV = s.B * KV;
  const int64_t group = H / KV;  // query heads per k/v head

  // Stage 1. D is O(B·H·T); head_score reuses it, so capture costs one add per row.
  std::vector<float> Drow(static_cast<size_t>(BH * T));
  parallel_for(BH, [&](int64_t bh) {
    const double total = preprocess_head(dout + bh * T * D, out + bh * T * D, T, D, &Drow[bh * T]);
    if (head_score) head_score[bh] = static_cast<float>(total);
  }, 2 * BH * T * D);

  // Stage 2. Item (b·KV + kv head, g) takes key blocks g, g+G, g+2G, ... (round-robin, so that
  // causal heads, whose early key blocks see more queries, spread evenly over the groups), and
  // per key block the query heads of its group in increasing order.
  const int64_t nkb = (T + AttnTiles::kBlockK - 1) / AttnTiles::kBlockK;
  const int64_t G = key_groups(BKV, nkb);
  std::vector<float> partials(G > 1 ? static_cast<size_t>(BH * G * T * D) : 0, 0.f);
  parallel_for(BKV * G, [&](int64_t item) {
    const int64_t bkv = item / G, g = item % G;
    const int64_t kv_off = bkv * T * D;
    for (int64_t j = 0; j < group; ++j) {
      const int64_t bh = (bkv / KV) * H + (bkv % KV) * group + j;  // query head of this group
      const int64_t off = bh * T * D;
      const float gain = p.gains ? p.gains[bh % H] : 1.f;
      const HeadGrads h{dout + off, q + off, k + kv_off, v + kv_off, out + off, lse + bh * T,
                        &Drow[bh * T], dk + kv_off, dv + kv_off, gain, p.softcap};
      float* dq_part = G > 1 ? &partials[(bh * G + g) * T * D] : dq + off;
      if (G == 1) std::fill(dq_part, dq_part + T * D, 0.f);
      for (int64_t kb = g; kb < nkb; kb += G) {
        const int64_t j0 = kb * AttnTiles::kBlockK;
        const int64_t n = std::min(AttnTiles::kBlockK, T - j0);
        if (avx512)
          attention_backward_key_block_avx512(h.dout, h.q, h.k, h.v, h.lse, h.Drow, dq_part, h.dk, h.dv, j0, n,
                                              T, D, p.causal, scale, gain, j == 0);
        else
          backward_key_block(h, dq_part, j0, n, T, D, p.causal, scale, p.window, j == 0);
      }
    }
  }, BH * T * T * D / 4);
  if (G == 1) return;

  // Stage 3. dq[bh, rows of a query block] = Σ_g partial[bh, g, same rows], in g order.
  const int64_t nqb = (T + AttnTiles::kBlockQ - 1) / AttnTiles::kBlockQ;
  parallel_for(BH * nqb, [&](int64_t item) {
    const int64_t bh = item / nqb;
    const int64_t i0 = (item % nqb) * AttnTiles::kBlockQ;
    const int64_t len = (std::min(T, i0 + AttnTiles::kBlockQ) - i0) * D;
    float* dst = dq + bh * T * D + i0 * D;
    const float* src = &partials[bh * G * T * D + i0 * D];
    std::copy(src, src + len, dst);
    for (int64_t g = 1; g < G; ++g)
      for (int64_t e = 0; e < len; ++e) dst[e] += src[g * T * D + e];
  }, BH * T * D * (G > 1 ? G : 1));
}

}  // namespace

void attention_backward(const float* dout, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, float* dq, float* dk, float* dv,
                        float* head_score, const AttnShape& s, const AttnParams& p) {
  // the AVX-512 key block has no sliding window or soft-capping: those calls run the portable one
  backward_with(p.window == 0 && p.softcap == 0 && attention_avx512_enabled(s), dout, q, k, v, out, lse, dq, dk, dv, head_score, s, p);
}

void attention_backward_portable(const float* dout, const float* q, const float* k, const float* v,
                                 const float* out, const float* lse, float* dq, float* dk, float* dv,
                                 float* head_score, const AttnShape& s, const AttnParams& p) {
  backward_with(false, dout, q, k, v, out, lse, dq, dk, dv, head_score, s, p);
}

}  // namespace cpu
}  // namespace hg
