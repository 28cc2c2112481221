// GELU, tanh approximation (GPT-2's): y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out, inp: [n]
void gelu_forward(float* out, const float* inp, int64_t n);
// dinp [n] = gelu'(inp) · dout (overwrite; dinp may alias dout)
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n);
}  // namespace cpu
}  // namespace hg
