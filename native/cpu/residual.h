// The residual connection.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out [n] = a [n] + b [n]  (its backward is the identity: the engine lets the residual
// gradient flow through one buffer that each branch's backward adds into)
void residual_forward(float* out, const float* a, const float* b, int64_t n);
}  // namespace cpu
}  // namespace hg
