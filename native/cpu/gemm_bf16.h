// The CPU's bf16 gemm: op(A), op(B) rounded to bf16 (nearest even), products accumulated in
// f32 by oneDNN (AVX512-BF16 or AMX), C stays f32. Same conventions as cpu::gemm (gemm.h),
// restricted to alpha = 1 and beta ∈ {0, 1} (what the linear layers need).
#pragma once
#include <cstdint>
#include <string>

#include "core/bf16.h"

namespace hg {
namespace cpu {

struct Bf16Support {
  bool available = false;
  std::string isa;     // oneDNN's ISA, e.g. "avx512_core_bf16" or "avx512_core_amx"; empty without oneDNN
  std::string reason;  // why bf16 runs, or why it does not (then f32 runs)
};
// Decided once: built with oneDNN, the CPU has bf16 dot-product instructions (oneDNN's ISA is
// at least avx512_core_bf16), and HEADGRAD_CPU_BF16 is not "off".
const Bf16Support& bf16_support();

// Throws when !bf16_support().available or alpha/beta are outside what is supported.
void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
               int64_t ldc);

// f32 -> bf16 bits, round to nearest even (NaN stays NaN); and back (exact). core/bf16.h.
using hg::from_bf16;
using hg::to_bf16;

}  // namespace cpu
}  // namespace hg
