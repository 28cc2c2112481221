#include "cpu/geglu.h"

#include "cpu/exp_f32.h"
#include "cpu/parallel.h"

namespace hg {
namespace cpu {

namespace {
constexpr float kSqrt2OverPi = 0.7978845608028654f;
// tanh(u) = 1 − 2/(e^{2u} + 1) with exp_f32, as cpu/gelu.cpp (std::tanh would keep the loops
// from vectorising)
inline float tanh_f32(float u) { return 1.f - 2.f / (exp_f32(2.f * u) + 1.f); }
}  // namespace

// out [N,F], inp [N,2F]: o = gelu(g)·u, gelu(g) = g/2·(1 + tanh(√(2/π)(g + 0.044715 g³)))
void geglu_forward(float* out, const float* inp, int64_t N, int64_t F) {
  parallel_chunks(N, 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* g = inp + r * 2 * F;
      const float* u = g + F;
      float* o = out + r * F;
      for (int64_t i = 0; i < F; ++i) {
        const float x = g[i];
        o[i] = 0.5f * x * (1.f + tanh_f32(kSqrt2OverPi * (x + 0.044715f * x * x * x))) * u[i];
      }
    }
  }, 12 * F);
}

// Forward: o = gelu(g)·u.  ∂o/∂u = gelu(g);  ∂o/∂g = u·gelu'(g),
// gelu'(g) = (1 + th)/2 + g/2·(1 − th²)·√(2/π)(1 + 3·0.044715 g²), th = tanh(√(2/π)(g + 0.044715 g³)).
void geglu_backward(float* dinp, const float* inp, const float* dout, int64_t N, int64_t F) {
  parallel_chunks(N, 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* g = inp + r * 2 * F;
      const float* u = g + F;
      const float* d = dout + r * F;
      float* dg = dinp + r * 2 * F;
      float* du = dg + F;
      for (int64_t i = 0; i < F; ++i) {
        const float x = g[i];
        const float th = tanh_f32(kSqrt2OverPi * (x + 0.044715f * x * x * x));
        const float dth = kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
        du[i] = d[i] * 0.5f * x * (1.f + th);
        dg[i] = d[i] * u[i] * (0.5f * (1.f + th) + 0.5f * x * (1.f - th * th) * dth);
      }
    }
  }, 16 * F);
}

}  // namespace cpu
}  // namespace hg
