// cuda::gemm (engine_kernels.cuh): argument checks and the choice of kernel by precision.
#include <string>

#include "core/errors.h"
#include "cuda/engine_kernels.cuh"
#include "cuda/gemm_kernels.cuh"

namespace hg {
namespace cuda {

void gemm(Precision prec, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
          int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, const float* bias, bool accumulate) {
  if (M < 0 || N < 0 || K < 0)
    throw_range("cuda gemm: sizes must be >= 0, got M=" + std::to_string(M) + " N=" + std::to_string(N) +
                " K=" + std::to_string(K));
  if (M == 0 || N == 0) return;
  // Grid y counts M tiles (limit 65535; the smallest M tile is 64 rows); x counts N tiles.
  constexpr int64_t kMaxRows = int64_t{65535} * GemmF32Traits::kBlockM;
  if (M > kMaxRows) throw_range("cuda gemm: M = " + std::to_string(M) + " rows exceeds " + std::to_string(kMaxRows));
  const GemmArgs args{M, N, K, A, lda, B, ldb, C, ldc, bias, accumulate};
  if (prec == Precision::BF16) launch_gemm_bf16(args, trans_a, trans_b);
  else launch_gemm_f32(args, trans_a, trans_b);
}

}  // namespace cuda
}  // namespace hg
