// cpu::layernorm_forward/backward against float64: the forward formula, and the backward
// against central finite differences of the float64 forward (loss = Σ dout·out). The
// backward accumulates (+=) into dinp, dw, db.
#include <cmath>

#include "cpu/layernorm.h"
#include "test_util.h"

using namespace hgtest;

namespace {

// out [N,C] in float64
std::vector<double> ref_forward(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
                                int64_t N, int64_t C) {
  std::vector<double> out(N * C);
  for (int64_t r = 0; r < N; ++r) {
    double m = 0, v = 0;
    for (int64_t c = 0; c < C; ++c) m += x[r * C + c] / C;
    for (int64_t c = 0; c < C; ++c) v += (x[r * C + c] - m) * (x[r * C + c] - m) / C;
    for (int64_t c = 0; c < C; ++c) out[r * C + c] = (x[r * C + c] - m) / std::sqrt(v + 1e-5) * w[c] + b[c];
  }
  return out;
}

void check(int64_t N, int64_t C, std::mt19937& rng) {
  const std::string tag = "N=" + std::to_string(N) + " C=" + std::to_string(C);
  auto x = randn(rng, N * C, 2.f);
  for (auto& v : x) v += 3.f;  // a mean far from 0
  auto w = randn(rng, C), b = randn(rng, C), dout = randn(rng, N * C);
  std::vector<float> out(N * C), mean(N), rstd(N);
  hg::cpu::layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
  const auto xd = to_double(x), wd = to_double(w), bd = to_double(b), dd = to_double(dout);
  close(out, ref_forward(xd, wd, bd, N, C), 1e-5, 1e-4, "layernorm out " + tag);

  auto loss = [&](const std::vector<double>& xx, const std::vector<double>& ww, const std::vector<double>& bb) {
    const auto o = ref_forward(xx, ww, bb, N, C);
    double s = 0;
    for (size_t i = 0; i < o.size(); ++i) s += o[i] * dd[i];
    return s;
  };
  const auto gx = numeric_grad(xd, [&](const std::vector<double>& v) { return loss(v, wd, bd); });
  const auto gw = numeric_grad(wd, [&](const std::vector<double>& v) { return loss(xd, v, bd); });
  const auto gb = numeric_grad(bd, [&](const std::vector<double>& v) { return loss(xd, wd, v); });
  // start from nonzero values: the kernel must add, not overwrite
  auto dx = randn(rng, N * C), dw = randn(rng, C), db = randn(rng, C);
  auto want_dx = gx, want_dw = gw, want_db = gb;
  for (size_t i = 0; i < dx.size(); ++i) want_dx[i] += dx[i];
  for (int64_t c = 0; c < C; ++c) {
    want_dw[c] += dw[c];
    want_db[c] += db[c];
  }
  hg::cpu::layernorm_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), mean.data(), rstd.data(), N, C);
  close(dx, want_dx, 1e-4, 1e-3, "layernorm dinp " + tag);
  close(dw, want_dw, 1e-4, 1e-3, "layernorm dw " + tag);
  close(db, want_db, 1e-4, 1e-3, "layernorm db " + tag);
}

}  // namespace

int main() {
  std::mt19937 rng(7);
  const int64_t shapes[][2] = {{1, 1}, {1, 8}, {5, 3}, {17, 64}, {33, 130}};
  for (const auto& s : shapes) {
    const int64_t N = s[0], C = s[1];
    check(N, C, rng);
  }
  return finish("test_layernorm");
}
