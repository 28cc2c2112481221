// Host-side view of the CUDA backend. Declared here (backend-neutral) so the addon can call it;
// defined in native/cuda/*.cu and only linked when HEADGRAD_WITH_CUDA is set.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/attention.h"

namespace hg {
namespace cuda {

struct DeviceInfo {
  int ordinal = 0;  // the CUDA device index
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

// Makes `ordinal` the calling host thread's current device (CUDA keeps one per thread; a
// thread that never sets it uses device 0). Cheap when it already is. core/dispatch.cpp calls it
// before every CUDA call so that all work of the process runs on the chosen GPU.
void use_device(int ordinal);

enum class Precision { F32, BF16 };

// Device scratch memory of the engine's ops (cuda/scratch.cuh). While a ScratchUse lives, the
// calling thread's scratch block is in use and release_idle_scratch() leaves it alone;
// core/dispatch.cpp wraps every engine op in one. scratch_bytes(): the total held now.
struct ScratchUse {
  ScratchUse();
  ~ScratchUse();
  ScratchUse(const ScratchUse&) = delete;
  ScratchUse& operator=(const ScratchUse&) = delete;
};
size_t scratch_bytes();
void release_idle_scratch();

// The attention contract of core/attention.h on the GPU, for host buffers: copies the inputs to
// device memory it owns for the duration of the call, runs the kernels, copies the outputs back
// and frees everything (also on error). Throws hg::Error naming the size when an allocation
// fails, and naming the CUDA error otherwise. F32 is the exact path; BF16 converts on the device
// and uses tensor cores (headDim 64/128; other sizes fall back to F32).
// Whether BF16 attention runs on tensor cores for this head size (64 and 128 today); other
// sizes run the F32 kernels, and core/dispatch.h reports that as the precision that ran.
bool attention_bf16_head_dim(int64_t head_dim);

void attention_forward_host(const float* q, const float* k, const float* v, float* out, float* lse,
                            const AttnShape& s, const AttnParams& p, Precision prec);
void attention_backward_host(const float* dout, const float* q, const float* k, const float* v,
                             const float* out, const float* lse, float* dq, float* dk, float* dv,
                             float* head_score, const AttnShape& s, const AttnParams& p,
                             Precision prec);

}  // namespace cuda
}  // namespace hg
