// The fused attention contract. Every backend (cpu/attention.h, cuda) implements exactly this,
// and the tests hold each implementation to the same float64 reference. Which backend runs a
// call is decided in core/dispatch.h only.
//
// Layouts (row-major, contiguous):
//   q, k, v, out, dout, dq, dk, dv : [B, H, T, D]
//   lse                            : [B, H, T]   natural-log sum-exp of the scaled scores per row
//   head_score                     : [B, H]      Σ_t D(t),  D(t) = Σ_d dout[t,d]·out[t,d]
//
// Forward:   S = scale · q kᵀ (masked to j <= i when causal),  P = softmax_row(S),  out = P v
// Backward:  D = rowsum(dout ∘ out)   (preprocess; head_score is its sum over t)
//            dv = Pᵀ dout,  dP = dout vᵀ,  dS = P ∘ (dP − D),  dq = scale·dS k,  dk = scale·dSᵀ q
// P is recomputed from lse, never stored: no buffer grows with T².
#pragma once
#include <cstdint>
#include <string>

namespace hg {

struct AttnShape {
  int64_t B = 0, H = 0, T = 0, D = 0;
  int64_t rows() const { return B * H * T; }
  int64_t numel() const { return B * H * T * D; }
};

struct AttnParams {
  bool causal = true;
  float scale = 0.f;  // 0 -> 1/sqrt(D)
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
