// The one place that decides which backend runs a call. Callers (the addon, the C++ tests)
// describe the call as a Backend plus host buffers; this layer checks that the backend can run
// here, knows whether CUDA was compiled in and which GPU it uses, and forwards to cpu/ or cuda/.
// No other file branches on the backend or carries the "no CUDA" wording.
#pragma once
#include <string>
#include <vector>

#include "core/attention.h"
#include "core/cuda_api.h"
#include "core/ops.h"

namespace hg {

enum class Device { Cpu, Cuda };

struct Backend {
  Device device = Device::Cpu;
  cuda::Precision precision = cuda::Precision::F32;  // BF16 exists on CUDA only
};

// What CUDA can do in this process. `device` is the GPU every CUDA call runs on: the one
// HEADGRAD_CUDA_DEVICE names (an index into `devices`), else the first usable one; -1 when
// none. Never throws.
struct CudaStatus {
  bool compiled = false;
  bool available = false;
  std::string reason;  // why not, when !available
  std::vector<cuda::DeviceInfo> devices;
  int device = -1;
};
CudaStatus cuda_status();

// Frees the backend memory that ops keep between calls (CUDA scratch blocks of threads that are
// not inside an op); a model's dispose() calls it. cached_device_bytes(): what is held now.
void release_cached_memory();
size_t cached_device_bytes();

// Throws unless the attention kernels can run on `b`: RangeError "<ctx>.precision: 'bf16' runs
// on the CUDA backend only, got device 'cpu'" for bf16 on the CPU; Error "<what>: device 'cuda'
// requested but <reason>" when CUDA is not compiled in or no usable GPU exists.
void check_backend(const Backend& b, const std::string& ctx, const std::string& what);

// The GPT engine's ops table for `b`. CPU bf16 runs the linear layers' gemms in bf16 where the
// CPU supports it and f32 elsewhere (backendInfo().cpu.bf16); CUDA throws as check_backend does.
const Ops& engine_ops(const Backend& b, const std::string& what);

// The attention contract (core/attention.h) on host buffers, run on `b`. Each checks the
// backend itself, so the error is raised where the work runs (in a worker, it rejects there).
// The precision the attention kernels run at on `b` for this head size: BF16 only on CUDA and
// only for head sizes with a tensor-core kernel; every other case runs F32. Results and models
// report it, so that a bf16 request is never silently served by the f32 kernels.
cuda::Precision attention_precision(const Backend& b, int64_t head_dim);
// The head sizes with a bf16 tensor-core attention kernel (empty without CUDA).
std::vector<int64_t> bf16_attention_head_dims();

void attention_forward(const Backend& b, const float* q, const float* k, const float* v, float* out,
                       float* lse, const AttnShape& s, const AttnParams& p);
void attention_backward(const Backend& b, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, float* dq, float* dk,
                        float* dv, float* head_score, const AttnShape& s, const AttnParams& p);

}  // namespace hg
