// A vectorisable e^x for the pointwise CPU kernels (GELU, SwiGLU).
#pragma once
#include <cstdint>
#include <cstring>

namespace hg {
namespace cpu {

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

}  // namespace cpu
}  // namespace hg
