// Properties of the current device that kernel launches depend on, read once per device at run
// time (not assumed from the compile-time architecture) and cached.
#pragma once
#include <cstddef>

namespace hg {
namespace cuda {

struct DeviceLimits {
  int device = 0;
  int sm_count = 0;
  size_t smem_per_block_optin = 0;  // dynamic shared memory a kernel may opt in to
};

// The limits of the calling thread's current device. Throws hg::Error if CUDA cannot answer.
DeviceLimits device_limits();

}  // namespace cuda
}  // namespace hg
