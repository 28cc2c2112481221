// gemmRateSync({ m, n, k, precision? }): the rate of the CPU gemm that the engine runs,
// C[m,n] = A[m,k]·B[k,n] ('f32': cpu::gemm; 'bf16': cpu::gemm_bf16, both inputs rounded each
// call; 'bf16w': the linear layer on resident bf16 weights, C = A·Wᵀ with W bf16 [n,k] and only A
// rounded, as a bf16 model runs it), measured for at least 0.3 s. Benchmarks print it beside the engine's rates as the machine's
// ceiling (scripts/bench/peers.ts); nothing else uses it.
#include <napi.h>

#include <chrono>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/gemm_bf16.h"
#include "cpu/linear_bf16.h"
#include "napi_util.h"

namespace hg {
namespace addon {

static Napi::Value GemmRate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = require_object(info[0], "gemmRate options");
  const int64_t m = require_pos_int(o, "m", "gemmRate options");
  const int64_t n = require_pos_int(o, "n", "gemmRate options");
  const int64_t k = require_pos_int(o, "k", "gemmRate options");
  if (m > 16384 || n > 16384 || k > 16384) range_error(env, "gemmRate options: m, n and k must be at most 16384");
  const std::string precision = optional_choice(o, "precision", "f32", "f32|bf16|bf16w", "gemmRate options");
  const bool bf16 = precision != "f32";
  if (bf16 && !cpu::bf16_support().available) range_error(env, "gemmRate options.precision: " + cpu::bf16_support().reason);
  std::vector<float> a(static_cast<size_t>(m * k), 0.5f), b(static_cast<size_t>(k * n), 0.25f),
      c(static_cast<size_t>(m * n));
  std::vector<uint16_t> w(static_cast<size_t>(n * k), cpu::to_bf16(0.25f));
  auto once = [&] {
    if (precision == "bf16w") cpu::linear_forward_bf16w(c.data(), a.data(), w.data(), nullptr, m, k, n);
    else if (bf16) cpu::gemm_bf16(false, false, m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, c.data(), n);
    else cpu::gemm(false, false, m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, c.data(), n);
  };
  using clock = std::chrono::steady_clock;
  once();  // warm-up
  int reps = 0;
  const auto t0 = clock::now();
  double s = 0;
  do {
    once();
    ++reps;
    s = std::chrono::duration<double>(clock::now() - t0).count();
  } while (s < 0.3 || reps < 3);
  Napi::Object r = Napi::Object::New(env);
  r.Set("gflops", 2.0 * m * n * k * reps / s / 1e9);
  r.Set("impl", precision == "bf16w" ? std::string(cpu::linear_bf16_impl_name(cpu::linear_bf16_choice().impl)) + "-bf16w"
               : bf16 ? std::string(cpu::bf16_impl_name(cpu::bf16_support().impl)) + "-" + precision
                     : std::string(cpu::gemm_impl_name(cpu::default_gemm_impl())));
  return r;
}

void InitBench(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmRateSync", Napi::Function::New(env, GemmRate, "gemmRateSync"));
}

}  // namespace addon
}  // namespace hg
