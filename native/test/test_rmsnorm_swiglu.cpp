// cpu::rmsnorm_* and cpu::swiglu_* against float64: the forward formulas, and the backwards
// against central finite differences of the float64 forwards (loss = Σ dout·out). RMSNorm's
// backward accumulates (+=) into dinp and dw; SwiGLU's overwrites dinp.
#include <cmath>

#include "cpu/rmsnorm.h"
#include "cpu/swiglu.h"
#include "test_util.h"

using namespace hgtest;

namespace {

std::vector<double> ref_rmsnorm(const std::vector<double>& x, const std::vector<double>& w, int64_t N, int64_t C,
                                double eps) {
  std::vector<double> out(N * C);
  for (int64_t r = 0; r < N; ++r) {
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += x[r * C + c] * x[r * C + c];
    const double s = 1 / std::sqrt(ss / C + eps);
    for (int64_t c = 0; c < C; ++c) out[r * C + c] = x[r * C + c] * s * w[c];
  }
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

void check_rmsnorm(int64_t N, int64_t C, float eps, std::mt19937& rng) {
  const std::string tag = "rmsnorm N=" + std::to_string(N) + " C=" + std::to_string(C) + " eps=" + std::to_string(eps);
  auto x = randn(rng, N * C, 2.f);
  for (auto& v : x) v += 1.f;
  const auto w = randn(rng, C), dout = randn(rng, N * C);
  std::vector<float> out(N * C), rstd(N);
  hg::cpu::rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, eps, 0.f);
  const auto xd = to_double(x), wd = to_double(w), dd = to_double(dout);
  close(out, ref_rmsnorm(xd, wd, N, C, eps), 1e-5, 1e-4, tag + " out");
  const auto gx = numeric_grad(xd, [&](const std::vector<double>& v) { return dot(ref_rmsnorm(v, wd, N, C, eps), dd); });
  const auto gw = numeric_grad(wd, [&](const std::vector<double>& v) { return dot(ref_rmsnorm(xd, v, N, C, eps), dd); });
  auto dx = randn(rng, N * C), dw = randn(rng, C);  // nonzero: the kernel must add
  auto want_dx = gx, want_dw = gw;
  for (size_t i = 0; i < dx.size(); ++i) want_dx[i] += dx[i];
  for (int64_t c = 0; c < C; ++c) want_dw[c] += dw[c];
  hg::cpu::rmsnorm_backward(dx.data(), dw.data(), dout.data(), x.data(), w.data(), rstd.data(), N, C, 0.f);
  close(dx, want_dx, 1e-4, 1e-3, tag + " dinp");
  close(dw, want_dw, 1e-4, 1e-3, tag + " dw");
}

std::vector<double> ref_swiglu(const std::vector<double>& in, int64_t N, int64_t F) {
  std::vector<double> out(N * F);
  for (int64_t r = 0; r < N; ++r)
    for (int64_t i = 0; i < F; ++i) {
      const double g = in[r * 2 * F + i], u = in[r * 2 * F + F + i];
      out[r * F + i] = g / (1 + std::exp(-g)) * u;
    }
  return out;
}

void check_swiglu(int64_t N, int64_t F, std::mt19937& rng) {
  const std::string tag = "swiglu N=" + std::to_string(N) + " F=" + std::to_string(F);
  auto in = randn(rng, N * 2 * F, 3.f);  // wide: both tails of the sigmoid
  const auto dout = randn(rng, N * F);
  std::vector<float> out(N * F);
  hg::cpu::swiglu_forward(out.data(), in.data(), N, F);
  const auto ind = to_double(in), dd = to_double(dout);
  close(out, ref_swiglu(ind, N, F), 1e-6, 1e-5, tag + " out");
  const auto want = numeric_grad(ind, [&](const std::vector<double>& v) { return dot(ref_swiglu(v, N, F), dd); });
  std::vector<float> din(N * 2 * F, NAN);  // overwrite: every element written
  hg::cpu::swiglu_backward(din.data(), in.data(), dout.data(), N, F);
  close(din, want, 1e-5, 1e-4, tag + " dinp");
}

}  // namespace

int main() {
  std::mt19937 rng(17);
  const int64_t shapes[][2] = {{1, 1}, {1, 8}, {5, 3}, {17, 64}, {33, 130}};
  for (const auto& s : shapes) {
    check_rmsnorm(s[0], s[1], 1e-5f, rng);
    check_rmsnorm(s[0], s[1], 1e-6f, rng);
    check_swiglu(s[0], s[1], rng);
  }
  check_rmsnorm(3, 4, 0.5f, rng);  // a large eps: its term matters
  return finish("test_rmsnorm_swiglu");
}
