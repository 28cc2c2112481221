// Facts about how the kernels were compiled (they get -march flags the addon does not).
#pragma once
namespace hg {
const char* simd_name();
const char* blas_name();  // nullptr when no BLAS library is linked
}  // namespace hg
