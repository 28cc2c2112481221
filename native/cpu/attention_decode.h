// Attention for incremental decoding: a few new tokens against the KV cache.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// qkv [n,QKV] (QKV = (H + 2·KV)·hs, rows [q heads; k heads; v heads], RoPE already applied):
// rows for positions pos..pos+n-1. Their k, v are appended to kcache/vcache [KV,P,hs]; then
// query i of head h attends to positions 0..pos+i of k/v head h / (H/KV) (scores scale·q·k,
// scale 0: 1/sqrt(hs); softcap > 0: capped to softcap·tanh(s/softcap)), or with a sliding
// window (window > 0) to pos+i−window+1..pos+i only.
// out [n,H·hs]: out[i, h·hs+d] = gates[h] · Σ_j p_ij v_j[d].
void attention_decode(float* out, const float* qkv, float* kcache, float* vcache,
                      const float* gates, int64_t n, int64_t pos, int64_t H, int64_t KV, int64_t P,
                      int64_t hs, int64_t window, float scale, float softcap);
}  // namespace cpu
}  // namespace hg
