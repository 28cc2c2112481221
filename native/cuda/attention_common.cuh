// Device helpers shared by the attention kernels.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

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

// Copies rows [row0, row0 + rows) of one head's [T, D] f32 matrix into shared memory with row
// stride ld, the whole block cooperating. Rows past T are written as zeros, so a tile is always
// fully initialised and no load reads past the tensor.
__device__ __forceinline__ void load_rows_f32(float* dst, int ld, const float* src, int row0, int rows, int T, int D) {
  for (int e = threadIdx.x; e < rows * D; e += blockDim.x) {
    const int r = e / D, c = e % D;
    dst[r * ld + c] = row0 + r < T ? src[static_cast<int64_t>(row0 + r) * D + c] : 0.f;
  }
}

// The same for a [T, HeadDim] bf16 matrix, in 16-byte vectors: src rows and dst rows (stride ld)
// must be 16-byte aligned, which the workspace layout and the padded tile strides guarantee.
template <int HeadDim>
__device__ __forceinline__ void load_rows_bf16(__nv_bfloat16* dst, int ld, const __nv_bfloat16* src, int row0,
                                               int rows, int T) {
  constexpr int kVecs = HeadDim / 8;  // 8 bf16 per 16-byte vector
  for (int e = threadIdx.x; e < rows * kVecs; e += blockDim.x) {
    const int r = e / kVecs, c = e % kVecs * 8;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (row0 + r < T) val = *reinterpret_cast<const uint4*>(src + static_cast<int64_t>(row0 + r) * HeadDim + c);
    *reinterpret_cast<uint4*>(dst + r * ld + c) = val;
  }
}

}  // namespace cuda
}  // namespace hg
