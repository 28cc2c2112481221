// The two GEMM kernels behind cuda::gemm (engine_kernels.cuh), their tile sizes, and the operand
// loader they share.
//
// Both kernels see op(A) as a [M,K] "row operand" and op(B)ᵀ as a [N,K] one: element (r, k) of a
// row operand is p[r·ld + k] when it is stored k-contiguous, else p[k·ld + r]. So A is
// k-contiguous unless trans_a, and op(B)ᵀ is k-contiguous exactly when trans_b.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace hg {
namespace cuda {

struct GemmArgs {
  int64_t M, N, K;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float* C;
  int64_t ldc;
  const float* bias;  // [N] or null
  bool accumulate;    // C += instead of C =
};

// SIMT f32: a block computes a kBlockM×kBlockN tile of C from kBlockK-deep slices; each thread
// owns kThreadM×kThreadN outputs strided by the thread grid (conflict-free shared reads).
struct GemmF32Traits {
  static constexpr int kBlockM = 64, kBlockN = 64, kBlockK = 16;
  static constexpr int kThreadM = 4, kThreadN = 4;
  static constexpr int kThreads = (kBlockM / kThreadM) * (kBlockN / kThreadN);
  static constexpr int kThreadsN = kBlockN / kThreadN;  // threads along N
  static constexpr int kThreadsM = kBlockM / kThreadM;  // threads along M
};

// bf16 tensor cores: 8 warps as 2 (M) × 4 (N), each warp a 64×32 tile of 4×4 mma.m16n8k16
// results. Shared tiles are [rows][kBlockK + kPad] bf16; the 16-byte pad puts the fragment
// loads of a warp in distinct banks.
struct GemmBf16Traits {
  static constexpr int kBlockM = 128, kBlockN = 128, kBlockK = 32;
  static constexpr int kWarpsM = 2, kWarpsN = 4;
  static constexpr int kThreads = 32 * kWarpsM * kWarpsN;
  static constexpr int kWarpM = kBlockM / kWarpsM, kWarpN = kBlockN / kWarpsN;  // 64, 32
  static constexpr int kFragsM = kWarpM / 16, kFragsN = kWarpN / 8;             // 4, 4
  static constexpr int kPad = 8;
  static constexpr int kLd = kBlockK + kPad;
};

// Loads rows row0..row0+R-1, columns k0..k0+BK-1 of a row operand [rows, K] (zeros outside it)
// and hands each element to store(r, k, x). Consecutive threads read consecutive addresses in
// either storage order, so the global loads coalesce. 1-D blocks of NT threads.
template <bool KContiguous, int R, int BK, int NT, typename Store>
__device__ __forceinline__ void load_operand_tile(const float* __restrict__ p, int64_t ld, int64_t rows, int64_t K,
                                                  int64_t row0, int64_t k0, Store store) {
#pragma unroll 4
  for (int e = threadIdx.x; e < R * BK; e += NT) {
    const int r = KContiguous ? e / BK : e % R;
    const int k = KContiguous ? e % BK : e / R;
    const int64_t gr = row0 + r, gk = k0 + k;
    float x = 0.f;
    if (gr < rows && gk < K) x = KContiguous ? p[gr * ld + gk] : p[gk * ld + gr];
    store(r, k, x);
  }
}

// C[r, c] = v (+ bias[c]) (+ C[r, c] when accumulating), inside [M, N] only.
__device__ __forceinline__ void store_result(const GemmArgs& a, int64_t r, int64_t c, float v) {
  if (r >= a.M || c >= a.N) return;
  if (a.bias) v += a.bias[c];
  float* out = a.C + r * a.ldc + c;
  *out = a.accumulate ? *out + v : v;
}

void launch_gemm_f32(const GemmArgs& a, bool trans_a, bool trans_b);
void launch_gemm_bf16(const GemmArgs& a, bool trans_a, bool trans_b);

}  // namespace cuda
}  // namespace hg
