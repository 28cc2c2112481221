#include "cpu/gelu.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/exp_f32.h"
#include "cpu/parallel.h"

namespace hg {
namespace cpu {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr int64_t kGrain = 1 << 14;

// tanh(u) = 1 − 2/(e^{2u} + 1): absolute error ~2e-7, which is all GELU needs.
inline float tanh_f32(float u) { return 1.f - 2.f / (exp_f32(2.f * u) + 1.f); }

// out, inp: [n]
void gelu_forward(float* out, const float* inp, int64_t n) {
  parallel_chunks(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float x = inp[i];
      out[i] = 0.5f * x * (1.f + tanh_f32(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    }
  }, 10);
}

// Forward: out[i] = 0.5f * x * (1.f + tanh_f32(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n) {
  parallel_chunks(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float x = inp[i];
      const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
      const float th = tanh_f32(u);
      const float du = kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
      const float grad = 0.5f * (1.f + th) + 0.5f * x * (1.f - th * th) * du;
      dinp[i] = grad * dout[i];
    }
  }, 10);
}

}  // namespace cpu
}  // namespace hg
