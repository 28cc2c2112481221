// GeGLU, the gated MLP activation of Gemma: out = gelu_tanh(gate) ∘ up. The MLP's first linear
// writes [gate (F columns); up (F columns)] per row, as for SwiGLU (cpu/swiglu.h).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out [N,F] <- inp [N,2F]
void geglu_forward(float* out, const float* inp, int64_t N, int64_t F);
// dinp [N,2F] (overwrite) <- dout [N,F], inp [N,2F]
void geglu_backward(float* dinp, const float* inp, const float* dout, int64_t N, int64_t F);
}  // namespace cpu
}  // namespace hg
