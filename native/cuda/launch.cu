#include "cuda/launch.cuh"

#include <algorithm>
#include <string>

#include "core/errors.h"
#include "cuda/attention_traits.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/device.cuh"

namespace hg {
namespace cuda {

constexpr int64_t kMaxGridX = 2147483647, kMaxGridY = 65535;
constexpr size_t kDefaultSmemLimit = 48 * 1024;  // usable without an opt-in on every architecture

dim3 head_tile_grid(int64_t bh, int64_t tiles, const char* kernel) {
  if (bh > kMaxGridX)
    throw_range(std::string(kernel) + ": batch·heads = " + std::to_string(bh) + " exceeds the grid limit " +
                std::to_string(kMaxGridX));
  if (tiles > kMaxGridY)
    throw_range(std::string(kernel) + ": seqLen needs " + std::to_string(tiles) + " tiles, more than the grid limit " +
                std::to_string(kMaxGridY));
  return dim3(static_cast<unsigned>(bh), static_cast<unsigned>(tiles));
}

dim3 elementwise_grid(int64_t n, int threads) {
  const int64_t wanted = (n + threads - 1) / threads;
  const int64_t cap = static_cast<int64_t>(device_limits().sm_count) * ElementwiseTraits::kBlocksPerSm;
  return dim3(static_cast<unsigned>(std::max<int64_t>(1, std::min(wanted, cap))));
}

void allow_dynamic_smem(const void* kernel, size_t bytes, const char* name) {
  if (bytes <= kDefaultSmemLimit) return;
  const DeviceLimits lim = device_limits();
  if (bytes > lim.smem_per_block_optin)
    throw_range(std::string(name) + " needs " + std::to_string(bytes) + " bytes of shared memory per block; device " +
                std::to_string(lim.device) + " allows " + std::to_string(lim.smem_per_block_optin));
  HG_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

}  // namespace cuda
}  // namespace hg
