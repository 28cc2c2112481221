// cpu::gelu_forward/backward against float64: the tanh formula and finite differences of it,
// over a range that covers both tails; the backward may run in place (dinp == dout).
#include <cmath>

#include "cpu/gelu.h"
#include "test_util.h"

using namespace hgtest;

static double gelu(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }

int main() {
  std::mt19937 rng(3);
  for (int64_t n : {1, 7, 40000}) {
    auto x = randn(rng, n, 3.f);
    auto dout = randn(rng, n);
    std::vector<float> y(n);
    hg::cpu::gelu_forward(y.data(), x.data(), n);
    std::vector<double> want(n), want_dx(n);
    for (int64_t i = 0; i < n; ++i) {
      want[i] = gelu(x[i]);
      const double h = 1e-5;
      want_dx[i] = (gelu(x[i] + h) - gelu(x[i] - h)) / (2 * h) * dout[i];
    }
    close(y, want, 1e-6, 1e-5, "gelu n=" + std::to_string(n));
    hg::cpu::gelu_backward(dout.data(), x.data(), dout.data(), n);  // in place
    close(dout, want_dx, 1e-5, 1e-4, "gelu backward n=" + std::to_string(n));
  }
  return finish("test_gelu");
}
