// Moving between the token-major projection layout and the head-major attention layout, with
// the per-head gates ξ_h applied on the way out of attention.
//
// qkv rows are [q heads (H·hs); k heads (KV·hs); v heads (KV·hs)], QKV = (H + 2·KV)·hs columns.
// With grouped-query attention (KV < H) the k/v heads stay KV heads here: query head h reads
// k/v head h / (H/KV) inside the attention kernels, so K/V are never duplicated in memory.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// q [B,H,T,hs], k,v [B,KV,T,hs] <- qkv [B,T,QKV]
void split_heads(float* q, float* k, float* v, const float* qkv, int64_t B, int64_t T, int64_t H,
                 int64_t KV, int64_t hs);
// dqkv [B,T,QKV] = (dq, dk, dv) moved back (overwrite), each head's block times gates[h] when
// gates [H] is given (KV == H only: then k/v head h belongs to query head h alone). With
// KV < H the attention backward applies the gates itself (AttnParams::gains) and gates is null.
void split_heads_backward(float* dqkv, const float* dq, const float* dk, const float* dv,
                          const float* gates, int64_t B, int64_t T, int64_t H, int64_t KV,
                          int64_t hs);
// y [B,T,C], y[b,t,h·hs+d] = gate_h · o[b,h,t,d];  o [B,H,T,hs], gates [H]
void merge_heads(float* y, const float* o, const float* gates, int64_t B, int64_t T, int64_t H,
                 int64_t hs);
// dout_heads [B,H,T,hs] = dy [B,T,C] rearranged, without the gate (see the engine's backward)
void merge_heads_backward(float* dout_heads, const float* dy, int64_t B, int64_t T, int64_t H,
                          int64_t hs);
}  // namespace cpu
}  // namespace hg
