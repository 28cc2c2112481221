// Launch-configuration helpers: grid shapes within the hardware's limits and the dynamic
// shared-memory opt-in, checked against the current device (cuda/device.cuh).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace hg {
namespace cuda {

// Grid of (batch·head, tile): batch·head on x (limit 2^31−1), tiles on y (limit 65535).
// Throws a RangeError naming the kernel when the shape does not fit.
dim3 head_tile_grid(int64_t bh, int64_t tiles, const char* kernel);

// Grid for a grid-stride elementwise kernel over n elements, sized to the device's SMs.
dim3 elementwise_grid(int64_t n, int threads);

// Lets `kernel` use `bytes` of dynamic shared memory, or throws naming the kernel and the
// device's limit.
void allow_dynamic_smem(const void* kernel, size_t bytes, const char* name);

}  // namespace cuda
}  // namespace hg
