// cpu::residual_forward: the elementwise sum, across several parallel chunks.
#include "cpu/residual.h"
#include "test_util.h"

using namespace hgtest;

int main() {
  std::mt19937 rng(13);
  for (size_t n : {size_t{1}, size_t{50001}}) {
    const auto a = randn(rng, n), b = randn(rng, n);
    std::vector<float> out(n);
    hg::cpu::residual_forward(out.data(), a.data(), b.data(), static_cast<int64_t>(n));
    std::vector<double> want(n);
    for (size_t i = 0; i < n; ++i) want[i] = static_cast<double>(a[i]) + b[i];
    close(out, want, 1e-6, 1e-6, "residual n=" + std::to_string(n));
  }
  return finish("test_residual");
}
