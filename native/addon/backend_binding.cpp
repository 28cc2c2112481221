// backendInfo(): what this binary was built with and what it can use right now.
#include <napi.h>

#include "core/build_info.h"
#include "core/dispatch.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/gemm_bf16.h"
#include "cpu/linear_bf16.h"

namespace hg {
namespace addon {

static Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("version", "0.1.0");

  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("simd", simd_name());
  cpu.Set("threads", num_threads());
  if (const char* b = blas_name()) cpu.Set("blas", b);
  else cpu.Set("blas", env.Null());
  const cpu::GemmChoice& g = cpu::gemm_choice();
  cpu.Set("gemm", cpu::gemm_impl_name(g.impl));
  cpu.Set("gemmReason", g.reason);
  if (g.blas_core.empty()) cpu.Set("blasCore", env.Null());
  else cpu.Set("blasCore", g.blas_core);
  const cpu::Bf16Support& b16 = cpu::bf16_support();
  Napi::Object bf16 = Napi::Object::New(env);
  bf16.Set("available", b16.available);
  if (b16.isa.empty()) bf16.Set("isa", env.Null());
  else bf16.Set("isa", b16.isa);
  bf16.Set("reason", b16.reason);
  // which kernel a bf16 model's linear layers (bf16-resident weights) run, and why
  const cpu::LinearBf16Choice& lin = cpu::linear_bf16_choice();
  bf16.Set("linear", cpu::linear_bf16_impl_name(lin.impl));
  bf16.Set("linearReason", lin.reason);
  cpu.Set("bf16", bf16);
  out.Set("cpu", cpu);

  const CudaStatus s = cuda_status();
  Napi::Object cu = Napi::Object::New(env);
  cu.Set("compiled", s.compiled);
  cu.Set("available", s.available);
  Napi::Array devices = Napi::Array::New(env);
  for (size_t i = 0; i < s.devices.size(); ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", s.devices[i].ordinal);
    d.Set("name", s.devices[i].name);
    d.Set("memoryBytes", static_cast<double>(s.devices[i].memory_bytes));
    d.Set("computeCapability", s.devices[i].compute_capability);
    devices.Set(static_cast<uint32_t>(i), d);
  }
  cu.Set("devices", devices);
  // Device memory the engine's ops keep between calls (freed for idle threads on dispose()).
  cu.Set("scratchBytes", static_cast<double>(cached_device_bytes()));
  // The GPU every CUDA call runs on (HEADGRAD_CUDA_DEVICE, else the first usable one).
  if (s.available) cu.Set("device", s.device);
  else cu.Set("reason", s.reason);
  // precision 'bf16' runs tensor-core attention for these head sizes and f32 attention for others.
  const std::vector<int64_t> dims = bf16_attention_head_dims();
  Napi::Array bf16_dims = Napi::Array::New(env, dims.size());
  for (size_t i = 0; i < dims.size(); ++i) bf16_dims.Set(static_cast<uint32_t>(i), static_cast<double>(dims[i]));
  cu.Set("bf16AttentionHeadDims", bf16_dims);
  out.Set("cuda", cu);
  return out;
}

void InitBackend(Napi::Env env, Napi::Object exports) {
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo, "backendInfo"));
}

}  // namespace addon
}  // namespace hg
