// The tensor-core GEMM: C[M,N] = op(A)[M,K] · op(B)[K,N] (+ bias) (+ C) with A and B rounded to
// bf16 (round to nearest even) as they are staged in shared memory and f32 accumulation
// (mma.sync m16n8k16). Relative error ~ 2^-8 per operand, the bf16 unit roundoff.
//   grid (⌈N/kBlockN⌉, ⌈M/kBlockM⌉), kThreads threads
//   smem As [kBlockM][kLd] = op(A) rows, Bs [kBlockN][kLd] = op(B)ᵀ rows (bf16, k contiguous)
#include <cuda_bf16.h>

#include "cuda/cuda_check.cuh"
#include "cuda/gemm_kernels.cuh"
#include "cuda/mma_bf16.cuh"

namespace hg {
namespace cuda {
namespace {

using Tr = GemmBf16Traits;

template <bool TransA, bool TransB>
__global__ void __launch_bounds__(Tr::kThreads) gemm_bf16_kernel(const GemmArgs a) {
  __shared__ __align__(16) __nv_bfloat16 As[Tr::kBlockM][Tr::kLd];
  __shared__ __align__(16) __nv_bfloat16 Bs[Tr::kBlockN][Tr::kLd];
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * Tr::kBlockM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * Tr::kBlockN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = (warp / Tr::kWarpsN) * Tr::kWarpM, wn = (warp % Tr::kWarpsN) * Tr::kWarpN;

  float acc[Tr::kFragsM][Tr::kFragsN][4] = {};
  for (int64_t k0 = 0; k0 < a.K; k0 += Tr::kBlockK) {
    load_operand_tile<!TransA, Tr::kBlockM, Tr::kBlockK, Tr::kThreads>(
        a.A, a.lda, a.M, a.K, m0, k0, [&](int r, int k, float x) { As[r][k] = __float2bfloat16_rn(x); });
    load_operand_tile<TransB, Tr::kBlockN, Tr::kBlockK, Tr::kThreads>(
        a.B, a.ldb, a.N, a.K, n0, k0, [&](int r, int k, float x) { Bs[r][k] = __float2bfloat16_rn(x); });
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < Tr::kBlockK; ks += 16) {
      uint32_t af[Tr::kFragsM][4], bf[Tr::kFragsN][2];
#pragma unroll
      for (int i = 0; i < Tr::kFragsM; ++i) mma::load_a(af[i], &As[wm + 16 * i][ks], Tr::kLd);
#pragma unroll
      for (int j = 0; j < Tr::kFragsN; ++j) mma::load_b_transposed(bf[j], &Bs[wn + 8 * j][ks], Tr::kLd);
#pragma unroll
      for (int i = 0; i < Tr::kFragsM; ++i)
#pragma unroll
        for (int j = 0; j < Tr::kFragsN; ++j) mma::mma_16x8x16(acc[i][j], af[i], bf[j]);
    }
    __syncthreads();  // the next slice overwrites the tiles
  }
  // Accumulator layout (mma_bf16.cuh): c0 = (g, 2t), c1 = (g, 2t+1), c2 = (g+8, 2t), c3 = (g+8, 2t+1)
  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int i = 0; i < Tr::kFragsM; ++i) {
#pragma unroll
    for (int j = 0; j < Tr::kFragsN; ++j) {
      const int64_t r = m0 + wm + 16 * i + g, c = n0 + wn + 8 * j + 2 * t;
      store_result(a, r, c, acc[i][j][0]);
      store_result(a, r, c + 1, acc[i][j][1]);
      store_result(a, r + 8, c, acc[i][j][2]);
      store_result(a, r + 8, c + 1, acc[i][j][3]);
    }
  }
}

template <bool TransA, bool TransB>
void launch(const GemmArgs& a) {
  const dim3 grid(static_cast<unsigned>((a.N + Tr::kBlockN - 1) / Tr::kBlockN),
                  static_cast<unsigned>((a.M + Tr::kBlockM - 1) / Tr::kBlockM));
  gemm_bf16_kernel<TransA, TransB><<<grid, Tr::kThreads>>>(a);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_gemm_bf16(const GemmArgs& a, bool trans_a, bool trans_b) {
  if (trans_a) return trans_b ? launch<true, true>(a) : launch<true, false>(a);
  return trans_b ? launch<false, true>(a) : launch<false, false>(a);
}

}  // namespace cuda
}  // namespace hg
