// cpu::adamw and cpu::sum_squares against float64 over spans: the bias-corrected update,
// decoupled decay only where the span says so, gradient scaling, and nothing outside the
// spans is read or written (NaN there would leak into the results).
#include <cmath>

#include "cpu/adamw.h"
#include "test_util.h"

using namespace hgtest;

int main() {
  std::mt19937 rng(17);
  const int64_t n = 200000;
  auto p = randn(rng, n), g = randn(rng, n), m = randn(rng, n, 0.1f), v = randn(rng, n, 0.1f);
  for (auto& x : v) x = x * x;
  const std::vector<hg::ParamSpan> spans = {{3, 5, true}, {10, 100000, false}, {100020, 70000, true}};
  std::vector<bool> inside(n, false);
  for (const auto& s : spans)
    for (int64_t i = s.offset; i < s.offset + s.size; ++i) inside[i] = true;
  for (int64_t i = 0; i < n; ++i)
    if (!inside[i]) g[i] = m[i] = v[i] = NAN;  // poison: must not be read or written

  double want_ss = 0;
  for (int64_t i = 0; i < n; ++i)
    if (inside[i]) want_ss += static_cast<double>(g[i]) * g[i];
  const double ss = hg::cpu::sum_squares(g.data(), spans.data(), static_cast<int64_t>(spans.size()));
  expect(std::fabs(ss - want_ss) <= 1e-9 * want_ss, "sum_squares " + std::to_string(ss) + " vs " + std::to_string(want_ss));

  const hg::AdamWParams hp{1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.5f, 3};
  std::vector<double> wp(n), wm(n), wv(n);
  for (int64_t i = 0; i < n; ++i) {
    wp[i] = p[i];
    wm[i] = m[i];
    wv[i] = v[i];
  }
  for (const auto& s : spans)
    for (int64_t i = s.offset; i < s.offset + s.size; ++i) {
      const double gi = static_cast<double>(g[i]) * hp.grad_scale;
      wm[i] = 0.9 * m[i] + 0.1 * gi;
      wv[i] = 0.95 * v[i] + 0.05 * gi * gi;
      const double mhat = wm[i] / (1 - std::pow(0.9, 3)), vhat = wv[i] / (1 - std::pow(0.95, 3));
      wp[i] = p[i] - 1e-2 * (mhat / (std::sqrt(vhat) + 1e-8) + (s.decay ? 0.1 : 0.0) * p[i]);
    }
  hg::cpu::adamw(p.data(), g.data(), m.data(), v.data(), spans.data(), static_cast<int64_t>(spans.size()), hp);
  close(p, wp, 1e-6, 1e-4, "adamw params");
  for (int64_t i = 0; i < n; ++i) {
    if (inside[i]) continue;
    if (!std::isnan(m[i]) || !std::isnan(v[i])) {
      expect(false, "adamw wrote moments outside the spans at " + std::to_string(i));
      break;
    }
  }
  for (int64_t i = 0; i < n; ++i)
    if (inside[i] && !(std::fabs(m[i] - wm[i]) <= 1e-6 + 1e-5 * std::fabs(wm[i]))) {
      expect(false, "adamw m[" + std::to_string(i) + "] " + std::to_string(m[i]) + " vs " + std::to_string(wm[i]));
      break;
    }
  // v ≥ 0 is ~0.01 to ~0.5 here; a wrong β2, a missing square or an unscaled gradient is far off
  for (int64_t i = 0; i < n; ++i)
    if (inside[i] && !(std::fabs(v[i] - wv[i]) <= 1e-7 + 1e-5 * std::fabs(wv[i]))) {
      expect(false, "adamw v[" + std::to_string(i) + "] " + std::to_string(v[i]) + " vs " + std::to_string(wv[i]));
      break;
    }
  return finish("test_adamw");
}
