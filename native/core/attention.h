// The fused attention contract. Every backend (cpu/attention.h, cuda) implements exactly this,
// and the tests hold each implementation to the same float64 reference. Which backend runs a
// call is decided in core/dispatch.h only.
//
// Layouts (row-major, contiguous):
//   q, out, dout, dq               : [B, H, T, D]
//   k, v, dk, dv                   : [B, KV, T, D]  (KV = H unless grouped-query attention)
//   lse                            : [B, H, T]   natural-log sum-exp of the scaled scores per row
//   head_score                     : [B, H]      Σ_t D(t),  D(t) = Σ_d dout[t,d]·out[t,d]
//
// Forward:   S = scale · q kᵀ (masked to j <= i when causal, and to j > i − window with a
//            sliding window),  P = softmax_row(S),  out = P v
// Backward:  D = rowsum(dout ∘ out)   (preprocess; head_score is its sum over t)
//            dv = Pᵀ dout,  dP = dout vᵀ,  dS = P ∘ (dP − D),  dq = scale·dS k,  dk = scale·dSᵀ q
// P is recomputed from lse, never stored: no buffer grows with T².
//
// Grouped-query attention (KV < H, KV divides H): query head h uses k/v head h / (H/KV), read in
// place (never duplicated), and dk/dv of a k/v head are the sums over the H/KV query heads of its
// group, added in increasing h in a fixed order (deterministic, no float atomics).
// gains (backward only, optional): dout of query head h counts gains[h] times in dq, dk, dv but
// not in head_score; the engine passes its head gates here when KV < H, since a k/v head's
// gradient then mixes query heads with different gates.
#pragma once
#include <cstdint>
#include <string>

namespace hg {

struct AttnShape {
  int64_t B = 0, H = 0, T = 0, D = 0;
  int64_t KV = 0;  // k/v heads; 0 -> H
  int64_t kv() const { return KV > 0 ? KV : H; }
  int64_t rows() const { return B * H * T; }
  int64_t numel() const { return B * H * T * D; }      // q, out, dout, dq
  int64_t kv_numel() const { return B * kv() * T * D; }  // k, v, dk, dv
};

struct AttnParams {
  bool causal = true;
  float scale = 0.f;              // 0 -> 1/sqrt(D)
  const float* gains = nullptr;  // [H] backend memory, backward only; null = all 1
  // > 0 (causal only): query i sees keys i − window + 1 .. i. Key tiles wholly outside every
  // row's window are skipped, not computed. 0: no window.
  int64_t window = 0;
  // > 0: scores s = scale·q·k become softcap·tanh(s/softcap) before the softmax (Gemma 2's
  // attention-logit soft-capping). 0: none.
  float softcap = 0.f;
};

constexpr int64_t kMaxHeadDim = 256;

// Throws hg::Error (RangeError) naming the problem if the shape or params are invalid.
void validate_attention(const AttnShape& s, const AttnParams& p);
inline float effective_scale(const AttnShape& s, const AttnParams& p);

}  // namespace hg

#include <cmath>
inline float hg::effective_scale(const AttnShape& s, const AttnParams& p) {
  return p.scale != 0.f ? p.scale : 1.0f / std::sqrt(static_cast<float>(s.D));
}
