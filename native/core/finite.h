// Input scans shared by the bindings: NaN or Inf in an input would silently poison every output.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hg {

// Index of the first NaN/Inf in x[0..n), or n when every element is finite.
size_t first_non_finite(const float* x, size_t n);
// The same for bf16 bits (the top half of an f32: exponent bits 0x7f80).
size_t first_non_finite_bf16(const uint16_t* x, size_t n);

}  // namespace hg
