// The one matrix-multiply entry point of the CPU backend. Row-major, BLAS conventions:
//   C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C
// op(A) = A ([M,K], row stride lda) or Aᵀ (A stored [K,M]) when trans_a; likewise B.
// beta == 0 never reads C (it may hold garbage). Calls parallel_for itself: never call it
// from inside a parallel_for item.
#pragma once
#include <cstdint>
#include <string>

namespace hg {
namespace cpu {

enum class GemmImpl {
  Blocked,  // the hand-written packed, cache-blocked, vectorised kernel (always built)
  Blas,     // OpenBLAS cblas_sgemm (only when built with HEADGRAD_WITH_OPENBLAS)
};

// The implementation gemm() uses (cpu/gemm_choice.cpp): OpenBLAS when linked and its core uses
// vectors at least as wide as the built-in kernel (faster at the engine's shapes, see
// scripts/bench/train.ts), else Blocked; HEADGRAD_GEMM=blocked|blas overrides it so the
// benchmark can measure both in one build.
struct GemmChoice {
  GemmImpl impl = GemmImpl::Blocked;
  std::string reason;     // one line for backendInfo().cpu.gemmReason
  std::string blas_core;  // openblas_get_corename(), empty without OpenBLAS
  int blas_core_level = 0;
};
const GemmChoice& gemm_choice();
GemmImpl default_gemm_impl();
// Vector class of an OpenBLAS core name: 1 SSE (and unknown names), 2 AVX, 3 AVX2+FMA, 4 AVX-512.
int openblas_core_level(const std::string& core);
bool gemm_impl_available(GemmImpl impl);
const char* gemm_impl_name(GemmImpl impl);

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Same, with an explicit implementation (tests hold both to the same reference).
void gemm_with(GemmImpl impl, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
               float* C, int64_t ldc);

}  // namespace cpu
}  // namespace hg
