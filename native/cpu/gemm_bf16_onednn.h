// The bf16 gemm through oneDNN's matmul primitive (a build with libdnnl-dev): cpu::gemm_bf16's
// contract (cpu/gemm_bf16.h), alpha = 1 and beta ∈ {0, 1}, M, N, K > 0. oneDNN picks its own
// code path: AVX512-BF16, or AMX tiles where the CPU has them. cpu::gemm_bf16 decides when this runs.
#pragma once
#include <cstdint>
#include <string>

namespace hg {
namespace cpu {

struct OnednnBf16 {
  bool built = false;  // this build links oneDNN
  bool bf16 = false;   // oneDNN's ISA has bf16 dot products (avx512_core_bf16 or above)
  bool amx = false;    // ... and AMX tiles (avx512_core_amx)
  std::string isa;     // oneDNN's effective ISA name, e.g. "avx512_core_amx"
  std::string version; // "2.6"
};
const OnednnBf16& onednn_bf16();

void gemm_bf16_onednn(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace cpu
}  // namespace hg
