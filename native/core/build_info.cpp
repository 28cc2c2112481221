#include "core/build_info.h"
namespace hg {
const char* simd_name() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2+fma";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__SSE2__)
  return "sse2";
#else
  return "scalar";
#endif
}
const char* blas_name() {
#ifdef HEADGRAD_WITH_OPENBLAS
  return "openblas";
#else
  return nullptr;
#endif
}
}  // namespace hg
