// cpu::matmul_forward/backward (the linear layer over gemm) against float64: out = x·wᵀ + b,
// dinp = dout·w (overwrite), dw += doutᵀ·x, dbias += Σ_rows dout; bias and dbias may be null.
#include "cpu/matmul.h"
#include "test_util.h"

using namespace hgtest;

int main() {
  std::mt19937 rng(29);
  const int64_t shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {37, 64, 190}, {130, 96, 33}};
  for (const auto& s : shapes) {
    const int64_t N = s[0], IC = s[1], OC = s[2];
    for (bool with_bias : {true, false}) {
      const std::string tag = "N=" + std::to_string(N) + " IC=" + std::to_string(IC) + " OC=" + std::to_string(OC) + (with_bias ? "" : " no bias");
      const auto x = randn(rng, N * IC), w = randn(rng, OC * IC), b = randn(rng, OC), dout = randn(rng, N * OC);
      std::vector<float> out(N * OC);
      hg::cpu::matmul_forward(out.data(), x.data(), w.data(), with_bias ? b.data() : nullptr, N, IC, OC);
      std::vector<double> want(N * OC), want_dx(N * IC, 0.0);
      auto dw = randn(rng, OC * IC), db = randn(rng, OC);
      auto want_dw = to_double(dw), want_db = to_double(db);
      for (int64_t r = 0; r < N; ++r)
        for (int64_t o = 0; o < OC; ++o) {
          double acc = with_bias ? b[o] : 0.0;
          for (int64_t i = 0; i < IC; ++i) {
            acc += static_cast<double>(x[r * IC + i]) * w[o * IC + i];
            want_dx[r * IC + i] += static_cast<double>(dout[r * OC + o]) * w[o * IC + i];
            want_dw[o * IC + i] += static_cast<double>(dout[r * OC + o]) * x[r * IC + i];
          }
          want[r * OC + o] = acc;
          want_db[o] += dout[r * OC + o];
        }
      close(out, want, 1e-4, 1e-4, "matmul forward " + tag);
      std::vector<float> dx(N * IC, 12345.f);  // overwritten, never read
      hg::cpu::matmul_backward(dx.data(), dw.data(), with_bias ? db.data() : nullptr, dout.data(), x.data(), w.data(), N, IC, OC);
      close(dx, want_dx, 1e-4, 1e-4, "matmul dinp " + tag);
      close(dw, want_dw, 1e-4, 1e-4, "matmul dw " + tag);
      if (with_bias) close(db, want_db, 1e-4, 1e-4, "matmul dbias " + tag);
    }
  }
  return finish("test_matmul");
}
