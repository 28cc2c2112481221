// The addon's entry point. Each binding file registers its own exports; this file only
// lists them, so adding a binding never touches another one.
#include <napi.h>

namespace hg {
namespace addon {
void InitBackend(Napi::Env env, Napi::Object exports);    // backend_binding.cpp
void InitAttention(Napi::Env env, Napi::Object exports);  // attention_binding.cpp
void InitGPT(Napi::Env env, Napi::Object exports);        // gpt_binding.cpp
void InitBench(Napi::Env env, Napi::Object exports);      // bench_binding.cpp
}  // namespace addon
}  // namespace hg

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  hg::addon::InitBackend(env, exports);
  hg::addon::InitAttention(env, exports);
  hg::addon::InitGPT(env, exports);
  hg::addon::InitBench(env, exports);
  return exports;
}

NODE_API_MODULE(headgrad, Init)
