// Block-wide reductions for the engine kernels. The order of every addition is fixed by the
// launch shape alone (butterfly inside a warp, then warps 0, 1, ... in order), so results are
// bitwise reproducible. Every thread of the block must call them (they synchronise), and the
// block size must be a multiple of 32 and at most 1024.
#pragma once
#include <cuda_runtime.h>

namespace hg {
namespace cuda {

template <typename T>
__device__ __forceinline__ T warp_reduce_sum(T x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

__device__ __forceinline__ float warp_reduce_max(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

// Every thread gets the block's sum (max). `shared` holds 32 values; it may be reused after the
// call returns.
template <typename T>
__device__ T block_reduce_sum(T x, T* shared) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  x = warp_reduce_sum(x);
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = x;
  __syncthreads();
  T total = 0;
  for (int w = 0; w < warps; ++w) total += shared[w];
  return total;
}

__device__ inline float block_reduce_max(float x, float* shared) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
  x = warp_reduce_max(x);
  __syncthreads();
  if (lane == 0) shared[warp] = x;
  __syncthreads();
  float m = shared[0];
  for (int w = 1; w < warps; ++w) m = fmaxf(m, shared[w]);
  return m;
}

}  // namespace cuda
}  // namespace hg
