// Attention for incremental decoding: a few new tokens against the KV cache.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// qkv [n,3C] (C = H·hs): rows for positions pos..pos+n-1. Their k, v are appended to
// kcache/vcache [H,P,hs]; then query i attends to positions 0..pos+i (scale 1/sqrt(hs)).
// out [n,C]: out[i, h·hs+d] = gates[h] · Σ_j p_ij v_j[d].
void attention_decode(float* out, const float* qkv, float* kcache, float* vcache,
                      const float* gates, int64_t n, int64_t pos, int64_t H, int64_t P, int64_t hs);
}  // namespace cpu
}  // namespace hg
