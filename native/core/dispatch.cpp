#include "core/dispatch.h"

#include <cstdlib>
#include <cstring>

#include "core/errors.h"
#include "cpu/attention.h"
#include "cpu/gemm_bf16.h"
#ifdef HEADGRAD_WITH_CUDA
#include "core/ops_cuda.h"
#endif

namespace hg {
namespace {

#ifdef HEADGRAD_WITH_CUDA
// The tensor-core kernels use mma.sync with bf16 operands: sm_80 or newer.
constexpr int kMinComputeMajor = 8;

bool usable(const cuda::DeviceInfo& d) { return std::atoi(d.compute_capability.c_str()) >= kMinComputeMajor; }

CudaStatus query_status() {
  CudaStatus s;
  s.compiled = true;
  cuda::Availability a = cuda::query();
  s.devices = a.devices;
  if (!a.available) {
    s.reason = a.reason;
    return s;
  }
  const char* env = std::getenv("HEADGRAD_CUDA_DEVICE");
  if (env && *env) {
    char* end = nullptr;
    const long want = std::strtol(env, &end, 10);
    const cuda::DeviceInfo* found = nullptr;
    for (const cuda::DeviceInfo& d : s.devices)
      if (*end == '\0' && d.ordinal == want) found = &d;
    if (!found) {
      s.reason = std::string("HEADGRAD_CUDA_DEVICE=") + env + " names no CUDA device (there are " +
                 std::to_string(s.devices.size()) + ", indexed from 0)";
      return s;
    }
    if (!usable(*found)) {
      s.reason = std::string("HEADGRAD_CUDA_DEVICE=") + env + " is a " + found->name + " of compute capability " +
                 found->compute_capability + "; headgrad needs 8.0 or newer";
      return s;
    }
    s.device = found->ordinal;
  } else {
    for (const cuda::DeviceInfo& d : s.devices) {
      if (usable(d)) {
        s.device = d.ordinal;
        break;
      }
    }
  }
  s.available = s.device >= 0;
  if (!s.available) s.reason = "no usable GPU: headgrad needs compute capability 8.0 or newer";
  return s;
}

// Read once: the device list does not change, and every CUDA call must agree on the GPU.
const CudaStatus& status() {
  static const CudaStatus s = query_status();
  return s;
}

// The CUDA ops tables with every entry wrapped so that it first makes the chosen GPU current on
// the calling thread (engine calls arrive on libuv worker threads and on the main thread).
const Ops& raw_table(int prec) { return cuda_ops(prec ? cuda::Precision::BF16 : cuda::Precision::F32); }

template <int P, auto M>
struct OnDevice;
template <int P, class R, class... A, R (*Ops::*M)(A...)>
struct OnDevice<P, M> {
  static R call(A... a) {
    cuda::use_device(status().device);
    cuda::ScratchUse in_use;
    return (raw_table(P).*M)(a...);
  }
};

#define HG_OPS_ENTRIES(X)                                                                            \
  X(alloc) X(release) X(upload) X(download) X(zero) X(encoder_forward) X(encoder_backward)          \
  X(layernorm_forward) X(layernorm_backward) X(rmsnorm_forward) X(rmsnorm_backward) X(matmul_forward) \
  X(matmul_backward) X(split_heads) X(split_heads_backward) X(merge_heads) X(merge_heads_backward)  \
  X(rope_forward) X(rope_backward) X(attention_forward) X(attention_backward) X(attention_decode)   \
  X(residual_forward) X(gelu_forward) X(gelu_backward) X(swiglu_forward) X(swiglu_backward)         \
  X(softmax_crossentropy_forward) X(softmax_crossentropy_backward) X(sum_squares) X(adamw)          \
  X(qk_norm_forward) X(qk_norm_backward) X(geglu_forward) X(geglu_backward) X(scale) X(softcap_forward) \
  X(softcap_backward)
#define HG_COUNT(m) +1
// A new entry in core/ops.h must be added to HG_OPS_ENTRIES, or it would run on device 0.
// (+1: the bf16w table pointer, which CUDA leaves null and which is not wrapped)
static_assert(sizeof(Ops) == sizeof(const char*) + (0 HG_OPS_ENTRIES(HG_COUNT)) * sizeof(void (*)()) + sizeof(void*),
              "core/ops.h gained an entry: list it in HG_OPS_ENTRIES (core/dispatch.cpp)");

template <int P>
Ops on_device_table() {
  Ops t = raw_table(P);
// an optional entry the backend lacks stays null, so that the engine refuses what needs it
#define HG_WRAP(m) if (t.m) t.m = &OnDevice<P, &Ops::m>::call;
  HG_OPS_ENTRIES(HG_WRAP)
#undef HG_WRAP
  return t;
}

const Ops& cuda_engine_ops(cuda::Precision prec) {
  static const Ops f32 = on_device_table<0>();
  static const Ops bf16 = on_device_table<1>();
  return prec == cuda::Precision::BF16 ? bf16 : f32;
}
#else
const CudaStatus& status() {
  static const CudaStatus s = [] {
    CudaStatus c;
    c.reason = "this build has no CUDA backend (nvcc was not found when it was built)";
    return c;
  }();
  return s;
}
#endif

}  // namespace

CudaStatus cuda_status() { return status(); }

void release_cached_memory() {
#ifdef HEADGRAD_WITH_CUDA
  if (status().available) {
    cuda::use_device(status().device);
    cuda::release_idle_scratch();
  }
#endif
}

size_t cached_device_bytes() {
#ifdef HEADGRAD_WITH_CUDA
  if (status().available) return cuda::scratch_bytes();
#endif
  return 0;
}

void check_backend(const Backend& b, const std::string& ctx, const std::string& what) {
  if (b.device == Device::Cpu) {
    if (b.precision == cuda::Precision::BF16)
      throw_range(ctx + ".precision: 'bf16' runs on the CUDA backend only, got device 'cpu'");
    return;
  }
  if (!status().available) throw_error(what + ": device 'cuda' requested but " + status().reason);
}

const Ops& engine_ops(const Backend& b, const std::string& what) {
  if (b.device == Device::Cpu) {
    // bf16 on the CPU: the linear layers' gemms in bf16 (the own AVX512-BF16 kernel, or oneDNN
    // on AMX) where the CPU has bf16 instructions; elsewhere f32 runs (backendInfo().cpu.bf16 says why).
    if (b.precision == cuda::Precision::BF16 && cpu::bf16_support().available) return cpu_ops_bf16();
    return cpu_ops();
  }
  check_backend(b, "config", what);
#ifdef HEADGRAD_WITH_CUDA
  return cuda_engine_ops(b.precision);
#else
  throw_error("unreachable: check_backend accepted CUDA in a build without it");
#endif
}

cuda::Precision attention_precision(const Backend& b, int64_t head_dim) {
  if (b.device != Device::Cuda || b.precision != cuda::Precision::BF16) return cuda::Precision::F32;
#ifdef HEADGRAD_WITH_CUDA
  if (cuda::attention_bf16_head_dim(head_dim)) return cuda::Precision::BF16;
#endif
  (void)head_dim;
  return cuda::Precision::F32;
}

std::vector<int64_t> bf16_attention_head_dims() {
  std::vector<int64_t> dims;
#ifdef HEADGRAD_WITH_CUDA
  for (int64_t d = 1; d <= kMaxHeadDim; ++d)
    if (cuda::attention_bf16_head_dim(d)) dims.push_back(d);
#endif
  return dims;
}

void attention_forward(const Backend& b, const float* q, const float* k, const float* v, float* out,
                       float* lse, const AttnShape& s, const AttnParams& p) {
  check_backend(b, "opts", "attention");
  if (b.device == Device::Cpu) return cpu::attention_forward(q, k, v, out, lse, s, p);
#ifdef HEADGRAD_WITH_CUDA
  cuda::use_device(status().device);
  cuda::attention_forward_host(q, k, v, out, lse, s, p, b.precision);
#endif
}

void attention_backward(const Backend& b, const float* dout, const float* q, const float* k,
                        const float* v, const float* out, const float* lse, float* dq, float* dk,
                        float* dv, float* head_score, const AttnShape& s, const AttnParams& p) {
  check_backend(b, "opts", "attention");
  if (b.device == Device::Cpu)
    return cpu::attention_backward(dout, q, k, v, out, lse, dq, dk, dv, head_score, s, p);
#ifdef HEADGRAD_WITH_CUDA
  cuda::use_device(status().device);
  cuda::attention_backward_host(dout, q, k, v, out, lse, dq, dk, dv, head_score, s, p, b.precision);
#endif
}

}  // namespace hg
