// bf16 bits <-> f32 on the host: the one rounding rule of the project (nearest even, NaN stays
// NaN), used by the CPU kernels and by the engine's import/export of bf16-resident weights.
#pragma once
#include <cstdint>
#include <cstring>

namespace hg {

inline uint16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// Exact: a bf16 number is an f32 with the low 16 bits zero.
inline float from_bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

}  // namespace hg
