#include "cpu/gelu.h"

#include <cmath>

#include "cpu/parallel.h"

namespace hg {
namespace cpu {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr int64_t kGrain = 1 << 14;

// out, inp: [n]
void gelu_forward(float* out, const float* inp, int64_t n) {
  parallel_chunks(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float x = inp[i];
      out[i] = 0.5f * x * (1.f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    }
  });
}

// Forward: out[i] = 0.5f * x * (1.f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n) {
  parallel_chunks(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float x = inp[i];
      const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      const float th = std::tanh(u);
      const float du = kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
      const float grad = 0.5f * (1.f + th) + 0.5f * x * (1.f - th * th) * du;
      dinp[i] = grad * dout[i];
    }
  });
}

}  // namespace cpu
}  // namespace hg
