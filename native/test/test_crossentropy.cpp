// cpu::softmax_crossentropy_forward/backward against float64: probabilities, losses (0 where
// the target is -1), and dlogits against finite differences of Σ_t w_t·loss_t. Large logits
// check the max-subtraction; a target whose probability underflows f32 still has a finite loss.
#include <cmath>

#include "cpu/crossentropy.h"
#include "test_util.h"

using namespace hgtest;

namespace {

// Σ_t w_t · (logsumexp(x_t) - x_t[target]) in float64
double ref_loss(const std::vector<double>& x, const std::vector<int32_t>& tgt, const std::vector<double>& w, int64_t N, int64_t V,
                std::vector<double>* losses = nullptr) {
  double total = 0;
  for (int64_t r = 0; r < N; ++r) {
    double mx = -INFINITY, s = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, x[r * V + v]);
    for (int64_t v = 0; v < V; ++v) s += std::exp(x[r * V + v] - mx);
    const double l = tgt[r] >= 0 ? std::log(s) + mx - x[r * V + tgt[r]] : 0.0;
    if (losses) losses->push_back(l);
    total += (tgt[r] >= 0 ? w[r] : 0.0) * l;
  }
  return total;
}

void check(int64_t N, int64_t V, float scale, std::mt19937& rng) {
  const std::string tag = "N=" + std::to_string(N) + " V=" + std::to_string(V);
  auto logits = randn(rng, N * V, scale);
  std::vector<int32_t> tgt(N);
  for (int64_t r = 0; r < N; ++r) tgt[r] = (r % 4 == 3) ? -1 : static_cast<int32_t>(rng() % V);
  const auto w = randn(rng, N);
  const auto xd = to_double(logits), wd = to_double(w);
  std::vector<double> want_losses;
  ref_loss(xd, tgt, wd, N, V, &want_losses);
  std::vector<float> p = logits, losses(N);
  hg::cpu::softmax_crossentropy_forward(p.data(), losses.data(), tgt.data(), N, V);
  close(losses, want_losses, 1e-5, 1e-5, "crossentropy losses " + tag);
  std::vector<double> want_p(N * V);
  for (int64_t r = 0; r < N; ++r) {
    double mx = -INFINITY, s = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, xd[r * V + v]);
    for (int64_t v = 0; v < V; ++v) s += std::exp(xd[r * V + v] - mx);
    for (int64_t v = 0; v < V; ++v) want_p[r * V + v] = std::exp(xd[r * V + v] - mx) / s;
  }
  close(p, want_p, 1e-7, 1e-5, "crossentropy probs " + tag);
  const auto g = numeric_grad(xd, [&](const std::vector<double>& x) { return ref_loss(x, tgt, wd, N, V); });
  hg::cpu::softmax_crossentropy_backward(p.data(), tgt.data(), w.data(), N, V);
  close(p, g, 1e-6, 1e-4, "crossentropy dlogits " + tag);
}

}  // namespace

int main() {
  std::mt19937 rng(11);
  check(1, 1, 1.f, rng);
  check(4, 5, 1.f, rng);
  check(9, 300, 3.f, rng);
  check(3, 50, 40.f, rng);  // large logits
  // p[target] = e^-200 underflows to 0 in f32; the loss must still be 200
  std::vector<float> x = {0.f, -200.f};
  std::vector<float> loss(1);
  std::vector<int32_t> t = {1};
  hg::cpu::softmax_crossentropy_forward(x.data(), loss.data(), t.data(), 1, 2);
  expect(std::fabs(loss[0] - 200.f) < 1e-3f, "crossentropy underflowing target: loss " + std::to_string(loss[0]));
  return finish("test_crossentropy");
}
