// SwiGLU, the gated MLP activation of the Llama family: out = silu(gate) ∘ up, silu(g) = g·σ(g).
// The MLP's first linear writes [gate (F columns); up (F columns)] per row (fcw rows in the
// same order, see core/gpt_params.h).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out [N,F] <- inp [N,2F]
void swiglu_forward(float* out, const float* inp, int64_t N, int64_t F);
// dinp [N,2F] (overwrite) <- dout [N,F], inp [N,2F]
void swiglu_backward(float* dinp, const float* inp, const float* dout, int64_t N, int64_t F);
}  // namespace cpu
}  // namespace hg
