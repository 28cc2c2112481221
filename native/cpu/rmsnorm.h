// RMSNorm over the last dimension (Llama's): out = w ∘ x / sqrt(mean(x²) + eps). No bias, no
// mean subtraction. Gemma's form multiplies by (1 + w): w_offset = 1 (0 otherwise).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out [N,C], rstd [N] (saved for the backward), inp [N,C], w [C]
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C,
                     float eps, float w_offset);
// dinp [N,C] +=, dw [C] += (dw may be null: no weight gradient)
void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                      const float* rstd, int64_t N, int64_t C, float w_offset);
}  // namespace cpu
}  // namespace hg
