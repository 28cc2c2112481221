#include "cpu/gelu.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/parallel.h"

namespace hg {
namespace cpu {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr int64_t kGrain = 1 << 14;

// e^x for x in [-87, 88] (clamped outside), Cephes-style: x = k·ln2 + r, e^r by a degree-6
// polynomial, 2^k from the exponent bits. Relative error ~1e-7. Written out because std::tanh
// and std::exp are scalar calls that keep these loops from vectorising (GELU was ~30% of a
// training step with std::tanh; see scripts/bench/train.ts).
inline float exp_f32(float x) {
  x = x < -87.f ? -87.f : (x > 88.f ? 88.f : x);
  // round(x·log2 e) by adding and removing 1.5·2^23 (std::floor would block vectorisation)
  const float k = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  const float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// tanh(u) = 1 − 2/(e^{2u} + 1): absolute error ~2e-7, which is all GELU needs.
inline float tanh_f32(float u) { return 1.f - 2.f / (exp_f32(2.f * u) + 1.f); }

// out, inp: [n]
void gelu_forward(float* out, const float* inp, int64_t n) {
  parallel_chunks(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float x = inp[i];
      out[i] = 0.5f * x * (1.f + tanh_f32(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
    }
  });
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
  });
}

}  // namespace cpu
}  // namespace hg
