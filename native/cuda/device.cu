// Device discovery and the per-device limits that launches need. A missing or too-old driver
// is reported as "no usable GPU" with its cause, never as an error.
#include <cuda_runtime.h>

#include <map>
#include <mutex>

#include "core/cuda_api.h"
#include "cuda/cuda_check.cuh"
#include "cuda/device.cuh"

namespace hg {
namespace cuda {

// The tensor-core path uses mma.sync with bf16 operands, which needs sm_80 or newer.
constexpr int kMinComputeMajor = 8;

Availability query() {
  Availability a;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    a.reason = std::string("no usable GPU: ") + cudaGetErrorString(e);
    cudaGetLastError();  // clear the (non-sticky) error so later checks do not see it
    return a;
  }
  if (n == 0) {
    a.reason = "no usable GPU: no CUDA device found";
    return a;
  }
  bool any_supported = false;
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.ordinal = i;
    d.name = p.name;
    d.memory_bytes = p.totalGlobalMem;
    d.compute_capability = std::to_string(p.major) + "." + std::to_string(p.minor);
    d.sm_count = p.multiProcessorCount;
    d.smem_per_block_optin = p.sharedMemPerBlockOptin;
    a.devices.push_back(d);
    // Compare numerically: as strings, "10.0" < "8.0".
    if (p.major >= kMinComputeMajor) any_supported = true;
  }
  a.available = any_supported;
  if (!any_supported) a.reason = "no usable GPU: headgrad needs compute capability 8.0 or newer";
  return a;
}

void use_device(int ordinal) {
  thread_local int current = -1;
  if (current == ordinal) return;
  HG_CUDA_CHECK(cudaSetDevice(ordinal));
  current = ordinal;
}

DeviceLimits device_limits() {
  static std::mutex mu;
  static std::map<int, DeviceLimits> cache;
  int dev = 0;
  HG_CUDA_CHECK(cudaGetDevice(&dev));
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(dev);
  if (it != cache.end()) return it->second;
  DeviceLimits l;
  l.device = dev;
  int smem = 0;
  HG_CUDA_CHECK(cudaDeviceGetAttribute(&l.sm_count, cudaDevAttrMultiProcessorCount, dev));
  HG_CUDA_CHECK(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  l.smem_per_block_optin = static_cast<size_t>(smem);
  cache.emplace(dev, l);
  return l;
}

}  // namespace cuda
}  // namespace hg
