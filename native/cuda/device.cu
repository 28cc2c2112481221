// Device discovery. A missing or too-old driver is reported as "no usable GPU" with its cause.
#include <cuda_runtime.h>

#include "core/cuda_api.h"

namespace hg {
namespace cuda {

Availability query() {
  Availability a;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    a.reason = std::string("no usable GPU: ") + cudaGetErrorString(e);
    cudaGetLastError();  // clear the sticky-free error state
    return a;
  }
  if (n == 0) {
    a.reason = "no usable GPU: no CUDA device found";
    return a;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.name = p.name;
    d.memory_bytes = p.totalGlobalMem;
    d.compute_capability = std::to_string(p.major) + "." + std::to_string(p.minor);
    d.sm_count = p.multiProcessorCount;
    d.smem_per_block_optin = p.sharedMemPerBlockOptin;
    a.devices.push_back(d);
  }
  bool any_supported = false;
  for (auto& d : a.devices)
    if (d.compute_capability >= "8.0") any_supported = true;
  a.available = any_supported;
  if (!any_supported) a.reason = "no usable GPU: headgrad needs compute capability 8.0 or newer";
  return a;
}

}  // namespace cuda
}  // namespace hg
