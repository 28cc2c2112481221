// The exact f32 GEMM (SIMT): C[M,N] = op(A)[M,K] · op(B)[K,N] (+ bias) (+ C). Each k is
// accumulated in order with fmaf, so results are reproducible and close to a float64 reference
// (error grows like K·eps).
//   grid (⌈N/kBlockN⌉, ⌈M/kBlockM⌉), kThreads threads; smem As [kBlockK][kBlockM+1], Bs [kBlockK][kBlockN+1]
#include "cuda/cuda_check.cuh"
#include "cuda/gemm_kernels.cuh"

namespace hg {
namespace cuda {
namespace {

using Tr = GemmF32Traits;

template <bool TransA, bool TransB>
__global__ void __launch_bounds__(Tr::kThreads) gemm_f32_kernel(const GemmArgs a) {
  // k-major tiles, padded by one float so the loader's stores (k fastest) hit distinct banks.
  __shared__ float As[Tr::kBlockK][Tr::kBlockM + 1];
  __shared__ float Bs[Tr::kBlockK][Tr::kBlockN + 1];
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * Tr::kBlockM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * Tr::kBlockN;
  const int tn = threadIdx.x % Tr::kThreadsN, tm = threadIdx.x / Tr::kThreadsN;

  float acc[Tr::kThreadM][Tr::kThreadN] = {};
  for (int64_t k0 = 0; k0 < a.K; k0 += Tr::kBlockK) {
    load_operand_tile<!TransA, Tr::kBlockM, Tr::kBlockK, Tr::kThreads>(
        a.A, a.lda, a.M, a.K, m0, k0, [&](int r, int k, float x) { As[k][r] = x; });
    load_operand_tile<TransB, Tr::kBlockN, Tr::kBlockK, Tr::kThreads>(
        a.B, a.ldb, a.N, a.K, n0, k0, [&](int r, int k, float x) { Bs[k][r] = x; });
    __syncthreads();
#pragma unroll
    for (int k = 0; k < Tr::kBlockK; ++k) {
      float av[Tr::kThreadM], bv[Tr::kThreadN];
#pragma unroll
      for (int i = 0; i < Tr::kThreadM; ++i) av[i] = As[k][tm + i * Tr::kThreadsM];
#pragma unroll
      for (int j = 0; j < Tr::kThreadN; ++j) bv[j] = Bs[k][tn + j * Tr::kThreadsN];
#pragma unroll
      for (int i = 0; i < Tr::kThreadM; ++i)
#pragma unroll
        for (int j = 0; j < Tr::kThreadN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();  // the next slice overwrites the tiles
  }
#pragma unroll
  for (int i = 0; i < Tr::kThreadM; ++i)
#pragma unroll
    for (int j = 0; j < Tr::kThreadN; ++j)
      store_result(a, m0 + tm + i * Tr::kThreadsM, n0 + tn + j * Tr::kThreadsN, acc[i][j]);
}

template <bool TransA, bool TransB>
void launch(const GemmArgs& a) {
  const dim3 grid(static_cast<unsigned>((a.N + Tr::kBlockN - 1) / Tr::kBlockN),
                  static_cast<unsigned>((a.M + Tr::kBlockM - 1) / Tr::kBlockM));
  gemm_f32_kernel<TransA, TransB><<<grid, Tr::kThreads>>>(a);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_gemm_f32(const GemmArgs& a, bool trans_a, bool trans_b) {
  if (trans_a) return trans_b ? launch<true, true>(a) : launch<true, false>(a);
  return trans_b ? launch<false, true>(a) : launch<false, false>(a);
}

}  // namespace cuda
}  // namespace hg
