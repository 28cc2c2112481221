// cpu::qk_norm_* against float64: per-head (Qwen3) and whole-projection (OLMo 2) Q/K RMSNorm on
// qkv rows, the v block copied, out-of-place and in place; the backward against central finite
// differences of the float64 forward (loss = Σ dout·out), in place on dout as the engine runs it,
// and with the weight gradients skipped (null).
#include <cmath>

#include "cpu/qk_norm.h"
#include "test_util.h"

using namespace hgtest;

namespace {

// out = qkv with each q group and k group RMS-normalised (weights shared by the groups of a block)
std::vector<double> ref_qk_norm(const std::vector<double>& x, const std::vector<double>& wq, const std::vector<double>& wk,
                                int64_t N, int64_t H, int64_t KV, int64_t hs, bool per_head, double eps) {
  const int64_t QKV = (H + 2 * KV) * hs;
  std::vector<double> out = x;
  auto norm = [&](int64_t r, int64_t c0, int64_t W, const std::vector<double>& w) {
    double ss = 0;
    for (int64_t c = 0; c < W; ++c) ss += x[r * QKV + c0 + c] * x[r * QKV + c0 + c];
    const double s = 1 / std::sqrt(ss / W + eps);
    for (int64_t c = 0; c < W; ++c) out[r * QKV + c0 + c] = x[r * QKV + c0 + c] * s * w[c];
  };
  for (int64_t r = 0; r < N; ++r) {
    if (per_head) {
      for (int64_t h = 0; h < H; ++h) norm(r, h * hs, hs, wq);
      for (int64_t g = 0; g < KV; ++g) norm(r, (H + g) * hs, hs, wk);
    } else {
      norm(r, 0, H * hs, wq);
      norm(r, H * hs, KV * hs, wk);
    }
  }
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

void check(int64_t N, int64_t H, int64_t KV, int64_t hs, bool per_head, float eps, std::mt19937& rng) {
  const std::string tag = std::string(per_head ? "per head" : "projection") + " N=" + std::to_string(N) + " H=" +
                          std::to_string(H) + " KV=" + std::to_string(KV) + " hs=" + std::to_string(hs);
  const int64_t QKV = (H + 2 * KV) * hs, qw = per_head ? hs : H * hs, kw = per_head ? hs : KV * hs;
  const int64_t G = per_head ? H + KV : 2;
  auto x = randn(rng, N * QKV, 2.f);
  for (auto& v : x) v += 0.5f;
  const auto wq = randn(rng, qw), wk = randn(rng, kw), dout = randn(rng, N * QKV);
  std::vector<float> out(N * QKV, NAN), rstd(N * G);
  hg::cpu::qk_norm_forward(out.data(), rstd.data(), x.data(), wq.data(), wk.data(), N, H, KV, hs, per_head, eps, 0.f);
  const auto xd = to_double(x), wqd = to_double(wq), wkd = to_double(wk), dd = to_double(dout);
  const auto want = ref_qk_norm(xd, wqd, wkd, N, H, KV, hs, per_head, eps);
  close(out, want, 1e-5, 1e-4, tag + " out");
  std::vector<float> inplace = x, rstd2(N * G);
  hg::cpu::qk_norm_forward(inplace.data(), rstd2.data(), inplace.data(), wq.data(), wk.data(), N, H, KV, hs, per_head, eps, 0.f);
  expect(same_bits(inplace, out), tag + ": in place = out of place");

  auto f = [&](const std::vector<double>& v, const std::vector<double>& a, const std::vector<double>& b) {
    return dot(ref_qk_norm(v, a, b, N, H, KV, hs, per_head, eps), dd);
  };
  const auto gx = numeric_grad(xd, [&](const std::vector<double>& v) { return f(v, wqd, wkd); });
  const auto gq = numeric_grad(wqd, [&](const std::vector<double>& v) { return f(xd, v, wkd); });
  const auto gk = numeric_grad(wkd, [&](const std::vector<double>& v) { return f(xd, wqd, v); });
  auto dwq = randn(rng, qw), dwk = randn(rng, kw);  // nonzero: the kernel must add
  auto want_q = gq, want_k = gk;
  for (int64_t c = 0; c < qw; ++c) want_q[c] += dwq[c];
  for (int64_t c = 0; c < kw; ++c) want_k[c] += dwk[c];
  std::vector<float> dx = dout;  // in place, as the engine calls it
  hg::cpu::qk_norm_backward(dx.data(), dwq.data(), dwk.data(), dx.data(), x.data(), wq.data(), wk.data(), rstd.data(), N, H,
                            KV, hs, per_head, 0.f);
  close(dx, gx, 1e-4, 1e-3, tag + " dinp (v block: dout copied)");
  close(dwq, want_q, 1e-4, 1e-3, tag + " dwq");
  close(dwk, want_k, 1e-4, 1e-3, tag + " dwk");
  std::vector<float> dx2(N * QKV, NAN);  // out of place, no weight gradients
  hg::cpu::qk_norm_backward(dx2.data(), nullptr, nullptr, dout.data(), x.data(), wq.data(), wk.data(), rstd.data(), N, H,
                            KV, hs, per_head, 0.f);
  expect(same_bits(dx2, dx), tag + ": out-of-place dinp = in place, weight gradients skipped");
}

}  // namespace

int main() {
  std::mt19937 rng(static_cast<uint32_t>(seed_from_env()));
  const int64_t shapes[][4] = {{1, 1, 1, 2}, {3, 2, 1, 4}, {5, 4, 2, 6}, {7, 3, 3, 5}, {4, 8, 2, 16}, {2, 4, 1, 64}};
  for (const auto& s : shapes)
    for (bool per_head : {true, false}) check(s[0], s[1], s[2], s[3], per_head, 1e-6f, rng);
  check(3, 2, 2, 4, true, 0.5f, rng);  // a large eps: its term matters
  return finish("test_qk_norm");
}
