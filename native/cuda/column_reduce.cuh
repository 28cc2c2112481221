// Column reductions out[c] += Σ_r f(r, c) over an [R, C] operand, in a fixed order (no atomics):
// a block owns kCols columns; thread (x, y) sums rows y, y + kRowLanes, ... of column x in
// order, then row lane 0 adds the kRowLanes partials in order. Used for the bias gradients and
// LayerNorm's weight gradients.
//   grid (⌈C/kCols⌉), block (kCols, kRowLanes)
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/cuda_check.cuh"

namespace hg {
namespace cuda {

struct ColumnReduceTraits {
  static constexpr int kCols = 32;      // one warp across the columns: coalesced row reads
  static constexpr int kRowLanes = 32;  // rows reduced in parallel per column
};

template <typename F>
__global__ void __launch_bounds__(ColumnReduceTraits::kCols * ColumnReduceTraits::kRowLanes)
    column_reduce_add_kernel(float* __restrict__ out, int64_t R, int64_t C, F f) {
  using Tr = ColumnReduceTraits;
  __shared__ float partial[Tr::kRowLanes][Tr::kCols + 1];
  const int64_t c = static_cast<int64_t>(blockIdx.x) * Tr::kCols + threadIdx.x;
  float s = 0.f;
  if (c < C)
    for (int64_t r = threadIdx.y; r < R; r += Tr::kRowLanes) s += f(r, c);
  partial[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y != 0 || c >= C) return;
  float total = 0.f;
  for (int y = 0; y < Tr::kRowLanes; ++y) total += partial[y][threadIdx.x];
  out[c] += total;
}

template <typename F>
void column_reduce_add(float* out, int64_t R, int64_t C, F f) {
  using Tr = ColumnReduceTraits;
  if (C == 0) return;
  const dim3 block(Tr::kCols, Tr::kRowLanes);
  column_reduce_add_kernel<<<static_cast<unsigned>((C + Tr::kCols - 1) / Tr::kCols), block>>>(out, R, C, f);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
