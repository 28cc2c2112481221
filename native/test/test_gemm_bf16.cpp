// cpu::gemm_bf16, each implementation that runs here (the own AVX512-BF16 kernel, oneDNN), against
// a float64 reference on the bf16-rounded inputs: every transpose combination, odd sizes, beta 0
// (C never read) and 1 (accumulate), strided leading dimensions, and bitwise repeatability. The
// bf16 rounding itself (to_bf16: nearest even, NaN kept) is checked on its own. Skipped (exit 77)
// where bf16 does not run. (test_gemm_bf16_own holds the own kernel to a tighter, derived bound.)
#include <cstdint>

#include "cpu/gemm_bf16.h"
#include "test_util.h"

using namespace hgtest;
using hg::cpu::from_bf16;
using hg::cpu::to_bf16;

namespace {

double r16(float x) { return from_bf16(to_bf16(x)); }

void check(hg::cpu::Bf16Impl impl, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float beta, std::mt19937& rng) {
  const int64_t arows = ta ? K : M, acols = ta ? M : K, lda = acols + 3;
  const int64_t brows = tb ? N : K, bcols = tb ? K : N, ldb = bcols + 5;
  const int64_t ldc = N + 2;
  const auto A = randn(rng, arows * lda), B = randn(rng, brows * ldb);
  auto C = randn(rng, M * ldc);
  if (beta == 0.f) C.assign(C.size(), NAN);
  const auto C0 = C;
  hg::cpu::gemm_bf16_with(impl, ta, tb, M, N, K, 1.f, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  const std::string what = std::string(hg::cpu::bf16_impl_name(impl)) + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " " + std::to_string(M) + "x" +
                           std::to_string(N) + "x" + std::to_string(K) + " beta=" + std::to_string(beta);
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double a = r16(ta ? A[k * lda + i] : A[i * lda + k]), b = r16(tb ? B[j * ldb + k] : B[k * ldb + j]);
        acc += a * b;
        mag += std::fabs(a * b);
      }
      const double want = acc + (beta == 0.f ? 0.0 : static_cast<double>(C0[i * ldc + j]));
      // Products of bf16 numbers are exact in f32; only the f32 accumulation rounds (4x margin).
      const double tol = 1e-6 + 4 * 6e-8 * std::sqrt(K + 1.0) * (mag + (beta == 0.f ? 0.0 : std::fabs(C0[i * ldc + j])));
      if (!(std::fabs(C[i * ldc + j] - want) <= tol)) {
        expect(false, what + " C[" + std::to_string(i) + "," + std::to_string(j) + "] = " + std::to_string(C[i * ldc + j]) +
                          ", want " + std::to_string(want));
        return;
      }
    }
  }
  for (int64_t i = 0; i < M; ++i)  // the padding past N is never written
    for (int64_t j = N; j < ldc; ++j)
      if (!(std::memcmp(&C[i * ldc + j], &C0[i * ldc + j], 4) == 0)) return expect(false, what + ": wrote past N");
  auto again = C0;
  hg::cpu::gemm_bf16_with(impl, ta, tb, M, N, K, 1.f, A.data(), lda, B.data(), ldb, beta, again.data(), ldc);
  expect(std::memcmp(again.data(), C.data(), C.size() * 4) == 0, what + ": two identical calls differ");
}

}  // namespace

int main() {
  // Rounding: nearest, ties to even, NaN stays NaN, exact values unchanged.
  expect(to_bf16(1.f) == 0x3f80, "1.0");
  expect(from_bf16(to_bf16(1.f + 1.f / 256)) == 1.f, "1 + 2^-8 (a tie) rounds to even 1.0");
  expect(from_bf16(to_bf16(1.f + 3.f / 256)) == 1.f + 4.f / 256, "1 + 3·2^-8 (a tie) rounds to even 1 + 2^-6");
  expect(from_bf16(to_bf16(1.f + 1.f / 200)) == 1.f + 1.f / 128, "above the tie rounds up");
  expect(std::isnan(from_bf16(to_bf16(NAN))), "NaN");
  expect(from_bf16(to_bf16(-3.5f)) == -3.5f, "exact values stay");

  const auto& s = hg::cpu::bf16_support();
  std::printf("bf16: %s\n", s.reason.c_str());
  if (!s.available) {
    std::printf("skip: bf16 gemm not available\n");
    return failures() == 0 ? 77 : 1;
  }
  const uint64_t seed = seed_from_env();
  std::printf("seed %llu (HEADGRAD_TEST_SEED repeats it)\n", static_cast<unsigned long long>(seed));
  std::mt19937 rng(static_cast<uint32_t>(seed));
  int cases = 0;
  for (auto impl : {hg::cpu::Bf16Impl::Own, hg::cpu::Bf16Impl::Onednn}) {
    if (!hg::cpu::bf16_impl_runs(impl)) {
      std::printf("%s: cannot run here\n", hg::cpu::bf16_impl_name(impl));
      continue;
    }
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.f, 1.f}) {
          check(impl, ta, tb, 1, 1, 1, beta, rng);
          check(impl, ta, tb, 7, 13, 5, beta, rng);
          check(impl, ta, tb, 33, 70, 130, beta, rng);
          check(impl, ta, tb, 65, 17, 300, beta, rng);
          cases += 4;
        }
    check(impl, false, true, 129, 257, 768, 0.f, rng);
    check(impl, true, false, 96, 64, 1000, 1.f, rng);
    cases += 2;
  }
  std::printf("test_gemm_bf16: %d cases, %d failures\n", cases, failures());
  return failures() == 0 ? 0 : 1;
}
