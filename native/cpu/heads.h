// Moving between the token-major projection layout and the head-major attention layout, with
// the per-head gates ξ_h applied on the way out of attention.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// q,k,v [B,H,T,hs] <- qkv [B,T,3C] (C = H·hs; Q, K, V blocks of C columns each)
void split_heads(float* q, float* k, float* v, const float* qkv, int64_t B, int64_t T, int64_t H,
                 int64_t hs);
// dqkv [B,T,3C] = gate_h · (dq, dk, dv) [B,H,T,hs] (overwrite); gates [H]
void split_heads_backward(float* dqkv, const float* dq, const float* dk, const float* dv,
                          const float* gates, int64_t B, int64_t T, int64_t H, int64_t hs);
// y [B,T,C], y[b,t,h·hs+d] = gate_h · o[b,h,t,d];  o [B,H,T,hs], gates [H]
void merge_heads(float* y, const float* o, const float* gates, int64_t B, int64_t T, int64_t H,
                 int64_t hs);
// dout_heads [B,H,T,hs] = dy [B,T,C] rearranged, without the gate (see the engine's backward)
void merge_heads_backward(float* dout_heads, const float* dy, int64_t B, int64_t T, int64_t H,
                          int64_t hs);
}  // namespace cpu
}  // namespace hg
