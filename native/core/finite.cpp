#include "core/finite.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace hg {

// Chunks are tested with an exponent-bits OR that vectorises (std::isfinite with an early exit
// does not); only a chunk that fails is searched element by element.
size_t first_non_finite(const float* x, size_t n) {
  constexpr size_t kChunk = 4096;
  constexpr uint32_t kExp = 0x7f800000u;  // all exponent bits set: Inf or NaN
  for (size_t c = 0; c < n; c += kChunk) {
    const size_t end = std::min(n, c + kChunk);
    uint32_t bad = 0;
    for (size_t i = c; i < end; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof bits);
      bad |= (bits & kExp) == kExp;
    }
    if (bad)
      for (size_t i = c; i < end; ++i)
        if (!std::isfinite(x[i])) return i;
  }
  return n;
}

size_t first_non_finite_bf16(const uint16_t* x, size_t n) {
  constexpr size_t kChunk = 4096;
  constexpr uint16_t kExp = 0x7f80u;
  for (size_t c = 0; c < n; c += kChunk) {
    const size_t end = std::min(n, c + kChunk);
    uint32_t bad = 0;
    for (size_t i = c; i < end; ++i) bad |= (x[i] & kExp) == kExp;
    if (bad)
      for (size_t i = c; i < end; ++i)
        if ((x[i] & kExp) == kExp) return i;
  }
  return n;
}

}  // namespace hg
