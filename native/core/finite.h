// Input scans shared by the bindings: NaN or Inf in an input would silently poison every output.
#pragma once
#include <cstddef>

namespace hg {

// Index of the first NaN/Inf in x[0..n), or n when every element is finite.
size_t first_non_finite(const float* x, size_t n);

}  // namespace hg
