// cpu::gemm (both implementations) against a float64 reference: every transpose combination,
// odd sizes that leave partial register and cache tiles, K larger than one cache block, strided
// leading dimensions, alpha/beta (beta = 0 must ignore NaN in C), and bitwise repeatability.
#include "cpu/gemm.h"
#include "test_util.h"

using namespace hgtest;

namespace {

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
};

void check(hg::cpu::GemmImpl impl, const Case& c, std::mt19937& rng) {
  // Stored shapes with a padded leading dimension (+3) so strides are exercised.
  const int64_t arows = c.ta ? c.K : c.M, acols = c.ta ? c.M : c.K, lda = acols + 3;
  const int64_t brows = c.tb ? c.N : c.K, bcols = c.tb ? c.K : c.N, ldb = bcols + 3;
  const int64_t ldc = c.N + 3;
  const auto A = randn(rng, arows * lda), B = randn(rng, brows * ldb);
  auto C = randn(rng, c.M * ldc);
  if (c.beta == 0.f) C.assign(C.size(), NAN);  // must never be read
  const auto C0 = C;
  hg::cpu::gemm_with(impl, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C.data(), ldc);

  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < c.N; ++j) {
      double acc = 0.0, mag = 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = c.ta ? A[k * lda + i] : A[i * lda + k];
        const double b = c.tb ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
        mag += std::fabs(a * b);
      }
      const double want = c.alpha * acc + (c.beta == 0.f ? 0.0 : c.beta * static_cast<double>(C0[i * ldc + j]));
      // f32 accumulation: the error grows like sqrt(K)·eps·Σ|ab| (4x margin)
      const double tol = 1e-6 + 4 * 6e-8 * std::sqrt(static_cast<double>(c.K) + 1) * (std::fabs(c.alpha) * mag + (c.beta == 0.f ? 0.0 : std::fabs(c.beta * C0[i * ldc + j])));
      const double err = std::fabs(C[i * ldc + j] - want);
      if (!(err <= tol)) {
        expect(false, std::string(hg::cpu::gemm_impl_name(impl)) + " ta=" + std::to_string(c.ta) + " tb=" +
                          std::to_string(c.tb) + " M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) +
                          " K=" + std::to_string(c.K) + " at (" + std::to_string(i) + "," + std::to_string(j) +
                          "): got " + std::to_string(C[i * ldc + j]) + ", want " + std::to_string(want));
        return;
      }
    }
    // padding columns of C are untouched
    for (int64_t j = c.N; j < ldc; ++j) {
      const bool same = std::isnan(C0[i * ldc + j]) ? std::isnan(C[i * ldc + j]) : C[i * ldc + j] == C0[i * ldc + j];
      expect(same, "gemm wrote past N");
    }
  }
  // Same inputs, same thread count: bitwise the same result.
  auto C2 = C0;
  hg::cpu::gemm_with(impl, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C2.data(), ldc);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j)
      if (C2[i * ldc + j] != C[i * ldc + j]) {
        expect(false, std::string(hg::cpu::gemm_impl_name(impl)) + ": two identical calls differ");
        return;
      }
}

}  // namespace

int main() {
  std::mt19937 rng(1234);
  const std::vector<Case> shapes = {
      {false, false, 1, 1, 1, 1.f, 0.f},      {false, true, 7, 13, 5, 1.f, 0.f},
      {true, false, 13, 7, 300, 1.f, 1.f},    {true, true, 97, 33, 17, 0.5f, 0.25f},
      {false, true, 200, 270, 130, 1.f, 0.f}, {false, false, 96, 256, 256, 1.f, 1.f},
      {true, false, 65, 300, 513, 1.f, 1.f},  {false, true, 1, 1000, 64, 1.f, 0.f},
      {false, false, 37, 19, 0, 1.f, 0.5f},
  };
  int checked = 0;
  for (auto impl : {hg::cpu::GemmImpl::Blocked, hg::cpu::GemmImpl::Blas}) {
    if (!hg::cpu::gemm_impl_available(impl)) {
      std::printf("skip: %s is not built in\n", hg::cpu::gemm_impl_name(impl));
      continue;
    }
    for (const Case& c : shapes) {
      check(impl, c, rng);
      ++checked;
    }
  }
  // OpenBLAS core names map to the vector class they use; unknown names count as the narrowest.
  expect(hg::cpu::openblas_core_level("Prescott") == 1, "Prescott is an SSE core");
  expect(hg::cpu::openblas_core_level("HASWELL") == 3, "Haswell (any case) is an AVX2 core");
  expect(hg::cpu::openblas_core_level("SkylakeX") == 4 && hg::cpu::openblas_core_level("Cooperlake") == 4,
         "SkylakeX and Cooperlake are AVX-512 cores");
  expect(hg::cpu::openblas_core_level("NoSuchCore") == 1, "an unknown core is treated as a fallback");
  std::printf("test_gemm: %d cases, %d failures (default: %s)\n", checked, failures(),
              hg::cpu::gemm_impl_name(hg::cpu::default_gemm_impl()));
  return failures() == 0 ? 0 : 1;
}
