// The linear layers on bf16 weights (cpu/linear_bf16.h), every available implementation,
// against a float64 reference on the bf16-rounded input and weights: odd shapes, N = 1, with
// and without bias, shapes that span several tiles of the portable path, outputs pre-filled
// with NaN (they must be overwritten), and bitwise repeatability.
#include <cstdint>

#include "cpu/gemm_bf16.h"
#include "cpu/linear_bf16.h"
#include "test_util.h"

using namespace hgtest;
using hg::cpu::from_bf16;
using hg::cpu::LinearBf16Impl;
using hg::cpu::to_bf16;

namespace {

double r16(float x) { return from_bf16(to_bf16(x)); }

std::vector<uint16_t> to_bits(const std::vector<float>& v) {
  std::vector<uint16_t> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = to_bf16(v[i]);
  return b;
}

// Products of bf16 numbers are exact in f32; only the f32 accumulation rounds (4x margin).
bool within(double got, double want, double mag, int64_t K) {
  return std::fabs(got - want) <= 1e-6 + 4 * 6e-8 * std::sqrt(K + 1.0) * mag;
}

void check(LinearBf16Impl impl, int64_t N, int64_t IC, int64_t OC, bool with_bias, std::mt19937& rng) {
  const std::string what = std::string(hg::cpu::linear_bf16_impl_name(impl)) + " N=" + std::to_string(N) +
                           " IC=" + std::to_string(IC) + " OC=" + std::to_string(OC) + (with_bias ? " bias" : "");
  const auto A = randn(rng, N * IC), D = randn(rng, N * OC), Wf = randn(rng, OC * IC, 0.05f), bias = randn(rng, OC);
  const auto W = to_bits(Wf);
  std::vector<float> out(N * OC, NAN), dinp(N * IC, NAN);
  hg::cpu::linear_forward_bf16w_with(impl, out.data(), A.data(), W.data(), with_bias ? bias.data() : nullptr, N, IC, OC);
  hg::cpu::linear_backward_input_bf16w_with(impl, dinp.data(), D.data(), W.data(), N, IC, OC);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t o = 0; o < OC; ++o) {  // out = bf16(A)·Wᵀ + bias
      double acc = 0, mag = 0;
      for (int64_t i = 0; i < IC; ++i) {
        const double p = r16(A[n * IC + i]) * from_bf16(W[o * IC + i]);
        acc += p;
        mag += std::fabs(p);
      }
      const double b = with_bias ? bias[o] : 0.0;
      if (!within(out[n * OC + o], acc + b, mag + std::fabs(b), IC))
        return expect(false, what + " out[" + std::to_string(n) + "," + std::to_string(o) + "] = " +
                                 std::to_string(out[n * OC + o]) + ", want " + std::to_string(acc + b));
    }
    for (int64_t i = 0; i < IC; ++i) {  // dinp = bf16(dout)·W
      double acc = 0, mag = 0;
      for (int64_t o = 0; o < OC; ++o) {
        const double p = r16(D[n * OC + o]) * from_bf16(W[o * IC + i]);
        acc += p;
        mag += std::fabs(p);
      }
      if (!within(dinp[n * IC + i], acc, mag, OC))
        return expect(false, what + " dinp[" + std::to_string(n) + "," + std::to_string(i) + "] = " +
                                 std::to_string(dinp[n * IC + i]) + ", want " + std::to_string(acc));
    }
  }
  std::vector<float> out2(N * OC, 0.f), dinp2(N * IC, 0.f);
  hg::cpu::linear_forward_bf16w_with(impl, out2.data(), A.data(), W.data(), with_bias ? bias.data() : nullptr, N, IC, OC);
  hg::cpu::linear_backward_input_bf16w_with(impl, dinp2.data(), D.data(), W.data(), N, IC, OC);
  expect(same_bits(out, out2) && same_bits(dinp, dinp2), what + ": two identical calls differ");
}

}  // namespace

int main() {
  const uint64_t seed = seed_from_env();
  std::printf("seed %llu (HEADGRAD_TEST_SEED repeats it); default: %s\n", static_cast<unsigned long long>(seed),
              hg::cpu::linear_bf16_choice().reason.c_str());
  std::mt19937 rng(static_cast<uint32_t>(seed));
  int cases = 0;
  for (LinearBf16Impl impl : {LinearBf16Impl::Portable, LinearBf16Impl::Dnnl}) {
    if (!hg::cpu::linear_bf16_impl_available(impl)) {
      std::printf("skip %s: not available here\n", hg::cpu::linear_bf16_impl_name(impl));
      continue;
    }
    for (bool b : {false, true}) {
      check(impl, 1, 1, 1, b, rng);
      check(impl, 1, 37, 5, b, rng);
      check(impl, 7, 13, 29, b, rng);
      check(impl, 33, 130, 70, b, rng);
      check(impl, 3, 1000, 1100, b, rng);  // two row tiles of W in the portable path
      check(impl, 2, 4096, 300, b, rng);   // 256 rows per tile: two tiles, the last one short
      cases += 6;
    }
  }
  std::printf("test_linear_bf16: %d cases, %d failures\n", cases, failures());
  return failures() == 0 ? 0 : 1;
}
