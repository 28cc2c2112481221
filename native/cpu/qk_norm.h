// Q/K RMSNorm on the token-major qkv rows [N, QKV], QKV = (H + 2·KV)·hs, before RoPE: the q
// block (H·hs columns) and the k block (KV·hs columns) are normalised in groups, per head
// (per_head: groups of hs columns, one weight [hs] shared by the heads, as Qwen3 and Gemma 3)
// or over the whole block (one group, weights [H·hs] and [KV·hs], as OLMo 2). The v block is
// copied. The weights count as (w_offset + w) (Gemma 3: 1). rstd [N, qg + kg] (qg = H or 1, kg = KV or 1) is kept for the backward.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out may equal inp (decoding normalises in place).
void qk_norm_forward(float* out, float* rstd, const float* inp, const float* wq, const float* wk, int64_t N,
                     int64_t H, int64_t KV, int64_t hs, bool per_head, float eps, float w_offset);
// dinp = the gradient through the norm (overwrite; may equal dout; the v block is copied);
// dwq, dwk += (null: skipped, as in a scores-only backward). inp: the forward's input.
void qk_norm_backward(float* dinp, float* dwq, float* dwk, const float* dout, const float* inp, const float* wq,
                      const float* wk, const float* rstd, int64_t N, int64_t H, int64_t KV, int64_t hs,
                      bool per_head, float w_offset);
}  // namespace cpu
}  // namespace hg
