// Soft-capping (Gemma 2's final logits): x -> cap·tanh(x/cap), and the embedding scale. The
// attention-logit cap lives inside the fused attention kernels (core/attention.h AttnParams).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// x [n] <- cap·tanh(x/cap) in place; dtanh [n] <- 1 − tanh(x/cap)² (skipped when null)
void softcap_forward(float* x, float* dtanh, int64_t n, float cap);
// dx [n] *= dtanh: the chain rule through softcap_forward
void softcap_backward(float* dx, const float* dtanh, int64_t n);
// x [n] *= s
void scale(float* x, float s, int64_t n);
}  // namespace cpu
}  // namespace hg
