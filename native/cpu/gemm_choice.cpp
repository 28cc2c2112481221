// Which f32 gemm the CPU backend runs, and why.
//
// OpenBLAS picks its kernels ("core") once, when the library loads, from the CPU's family and
// model. A CPU newer than the OpenBLAS release falls back to an old core (an AVX-512 Xeon that
// Debian's 0.3.21 does not know runs its Prescott SSE kernels at a sixth of the speed). The core
// cannot be changed after load (OPENBLAS_CORETYPE is read then), so when the core OpenBLAS chose
// uses narrower vectors than the built-in kernel was compiled for, gemm() runs the built-in one.
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu/gemm.h"

#ifdef HEADGRAD_WITH_OPENBLAS
extern "C" char* openblas_get_corename(void);
#endif

namespace hg {
namespace cpu {
namespace {

// Vector width class: 1 SSE, 2 AVX, 3 AVX2+FMA, 4 AVX-512.
#if defined(__AVX512F__)
constexpr int kBuiltinLevel = 4;
constexpr const char* kBuiltinName = "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kBuiltinLevel = 3;
constexpr const char* kBuiltinName = "avx2+fma";
#else
constexpr int kBuiltinLevel = 1;
constexpr const char* kBuiltinName = "sse";
#endif

bool same(const std::string& a, const char* b) {
  if (a.size() != std::strlen(b)) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

const char* level_name(int level) {
  switch (level) {
    case 4: return "avx512";
    case 3: return "avx2+fma";
    case 2: return "avx";
    default: return "sse";
  }
}

GemmChoice choose() {
  GemmChoice c;
  const char* forced = std::getenv("HEADGRAD_GEMM");
  const std::string want = forced ? forced : "";
#ifdef HEADGRAD_WITH_OPENBLAS
  c.blas_core = openblas_get_corename();
  c.blas_core_level = openblas_core_level(c.blas_core);
#endif
  if (want == "blocked") {
    c.impl = GemmImpl::Blocked;
    c.reason = "HEADGRAD_GEMM=blocked";
    return c;
  }
  if (!gemm_impl_available(GemmImpl::Blas)) {
    c.impl = GemmImpl::Blocked;
    c.reason = "this build has no OpenBLAS";
    return c;
  }
  if (want == "blas") {
    c.impl = GemmImpl::Blas;
    c.reason = "HEADGRAD_GEMM=blas (OpenBLAS core " + c.blas_core + ")";
    return c;
  }
  if (c.blas_core_level < kBuiltinLevel) {
    c.impl = GemmImpl::Blocked;
    c.reason = "OpenBLAS chose its " + c.blas_core + " core (" + level_name(c.blas_core_level) +
               ") on a CPU that runs the built-in " + kBuiltinName +
               " kernel; set OPENBLAS_CORETYPE before start (e.g. SkylakeX) to use OpenBLAS";
    return c;
  }
  c.impl = GemmImpl::Blas;
  c.reason = "OpenBLAS core " + c.blas_core + " (" + level_name(c.blas_core_level) + ")";
  return c;
}

}  // namespace

int openblas_core_level(const std::string& core) {
  static const char* const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  static const char* const avx2[] = {"Haswell", "Zen", "Excavator"};
  static const char* const avx[] = {"Sandybridge", "Bulldozer", "Piledriver", "Steamroller"};
  for (const char* n : avx512)
    if (same(core, n)) return 4;
  for (const char* n : avx2)
    if (same(core, n)) return 3;
  for (const char* n : avx)
    if (same(core, n)) return 2;
  return 1;  // Prescott, Core2, Nehalem, Atom, ... and any name this list does not know
}

const GemmChoice& gemm_choice() {
  static const GemmChoice c = choose();
  return c;
}

GemmImpl default_gemm_impl() { return gemm_choice().impl; }

}  // namespace cpu
}  // namespace hg
