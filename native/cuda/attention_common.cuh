// Device helpers shared by the attention kernels.
#pragma once
#include <cuda_runtime.h>

#include <cmath>

namespace hg {
namespace cuda {

// exp(x) = exp2(x · log2 e): the kernels fold log2 e into the softmax scale once, so every
// exponential is a single ex2 instruction.
constexpr float kLog2e = 1.4426950408889634f;

__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}

// Butterfly sum: every lane ends with the same value, and the order of the additions is fixed,
// so the result is reproducible bit for bit.
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Key j is visible from query i (both < T checked by the caller's bounds).
__device__ __forceinline__ bool visible(int i, int j, int T, bool causal) {
  return i < T && j < T && (!causal || j <= i);
}

// A running softmax maximum of -inf means no visible key yet; subtracting it would give NaN.
// Using 0 instead is exact: every p of such a row is exp(-inf) = 0 anyway.
__device__ __forceinline__ float safe_max(float m) { return m == -INFINITY ? 0.f : m; }

}  // namespace cuda
}  // namespace hg
