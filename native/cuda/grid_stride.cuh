// Grid-stride loops for the engine's elementwise kernels: launched with
// elementwise_grid(n, ElementwiseTraits::kThreads) blocks of kThreads (cuda/launch.cuh), each
// thread walks i, i + gridDim·blockDim, ... so any n fits the grid.
#pragma once
#include <cstdint>

#include "cuda/attention_traits.cuh"
#include "cuda/launch.cuh"

#define HG_GRID_STRIDE(i, n)                                                                 \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n);     \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

namespace hg {
namespace cuda {
constexpr int kElementwiseThreads = ElementwiseTraits::kThreads;
}  // namespace cuda
}  // namespace hg
