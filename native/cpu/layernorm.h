// LayerNorm over the last dimension (eps 1e-5, as GPT-2).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out [N,C], mean/rstd [N] (saved for the backward), inp [N,C], w/b [C]
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int64_t N, int64_t C);
// dinp [N,C] +=, dw/db [C] +=
void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                        const float* w, const float* mean, const float* rstd, int64_t N, int64_t C);
}  // namespace cpu
}  // namespace hg
