// The CPU's bf16 gemm: op(A), op(B) rounded to bf16 (nearest even), products accumulated in
// f32, C stays f32. Same conventions as cpu::gemm (gemm.h), restricted to alpha = 1 and
// beta ∈ {0, 1} (what the linear layers need).
//
// Two implementations: the product's own kernel (cpu/gemm_bf16_own.h, needs no library; AMX
// tiles where the CPU has them, else AVX512-BF16) and oneDNN's matmul (cpu/gemm_bf16_onednn.h,
// a build with libdnnl-dev). The choice, made once: oneDNN where it is built and finds bf16
// instructions (it ran the 1B model faster than the own kernel, also on AMX); else the own
// kernel where the CPU has AVX512-BF16 (on AMX tiles where it has those); else bf16 is
// unavailable and f32 runs. HEADGRAD_CPU_GEMM=own|onednn forces one
// (to measure both in one build), HEADGRAD_CPU_AMX=off keeps the own kernel off the tiles, and
// HEADGRAD_CPU_BF16=off turns bf16 off.
#pragma once
#include <cstdint>
#include <string>

#include "core/bf16.h"

namespace hg {
namespace cpu {

enum class Bf16Impl { None, Own, Onednn };

struct Bf16Support {
  bool available = false;
  Bf16Impl impl = Bf16Impl::None;
  std::string isa;     // what runs: "amx_bf16" or "avx512_bf16" (own kernel), or oneDNN's ISA, e.g. "avx512_core_amx"
  std::string reason;  // why this one runs, or why bf16 does not (then f32 runs)
};
const Bf16Support& bf16_support();
const char* bf16_impl_name(Bf16Impl impl);  // "own", "onednn", "none"
bool bf16_impl_runs(Bf16Impl impl);         // this build and CPU can run it (tests try each)

// Throws when !bf16_support().available or alpha/beta are outside what is supported.
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
               int64_t ldc);
// Same, with an explicit implementation (needs bf16_impl_runs(impl)).
void gemm_bf16_with(Bf16Impl impl, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// f32 -> bf16 bits, round to nearest even (NaN stays NaN); and back (exact). core/bf16.h.
using hg::from_bf16;
using hg::to_bf16;

}  // namespace cpu
}  // namespace hg
