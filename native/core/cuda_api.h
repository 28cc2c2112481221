// Host-side view of the CUDA backend. Declared here (backend-neutral) so the addon can call it;
// defined in native/cuda/*.cu and only linked when HEADGRAD_WITH_CUDA is set.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace hg {
namespace cuda {

struct DeviceInfo {
  std::string name;
  size_t memory_bytes = 0;
  std::string compute_capability;  // "9.0"
  int sm_count = 0;
  size_t smem_per_block_optin = 0;
};

struct Availability {
  bool available = false;
  std::string reason;  // why not, when !available
  std::vector<DeviceInfo> devices;
};

// Never throws: a missing driver or device is a normal answer, not an error.
Availability query();

}  // namespace cuda
}  // namespace hg
