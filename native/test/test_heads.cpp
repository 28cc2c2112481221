// cpu::split_heads / merge_heads and their backwards: the index maps of core/ops.h, with gates.
#include "cpu/heads.h"
#include "test_util.h"

using namespace hgtest;

int main() {
  std::mt19937 rng(9);
  const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 5, 3, 4}, {3, 17, 2, 9}};
  for (const auto& s : shapes) {
    const int64_t B = s[0], T = s[1], H = s[2], hs = s[3];
    const std::string tag = "B=" + std::to_string(B) + " T=" + std::to_string(T) + " H=" + std::to_string(H);
    const int64_t C = H * hs, n = B * T * C;
    const auto qkv = randn(rng, B * T * 3 * C), gates = randn(rng, H);
    std::vector<float> q(n), k(n), v(n);
    hg::cpu::split_heads(q.data(), k.data(), v.data(), qkv.data(), B, T, H, hs);
    std::vector<double> wq(n), wk(n), wv(n), wmerge(n), wsplit_back(B * T * 3 * C);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t d = 0; d < hs; ++d) {
            const int64_t hm = ((b * H + h) * T + t) * hs + d, row = (b * T + t) * 3 * C;
            wq[hm] = qkv[row + h * hs + d];
            wk[hm] = qkv[row + C + h * hs + d];
            wv[hm] = qkv[row + 2 * C + h * hs + d];
            wmerge[(b * T + t) * C + h * hs + d] = gates[h] * static_cast<double>(q[hm]);
            wsplit_back[row + h * hs + d] = gates[h] * static_cast<double>(q[hm]);
            wsplit_back[row + C + h * hs + d] = gates[h] * static_cast<double>(k[hm]);
            wsplit_back[row + 2 * C + h * hs + d] = gates[h] * static_cast<double>(v[hm]);
          }
    close(q, wq, 0, 0, "split q " + tag);
    close(k, wk, 0, 0, "split k " + tag);
    close(v, wv, 0, 0, "split v " + tag);
    std::vector<float> y(n), back(n), dqkv(B * T * 3 * C);
    hg::cpu::merge_heads(y.data(), q.data(), gates.data(), B, T, H, hs);
    close(y, wmerge, 1e-7, 1e-6, "merge " + tag);
    hg::cpu::merge_heads_backward(back.data(), y.data(), B, T, H, hs);  // ungated: back = gate·q
    std::vector<double> wback(n);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t d = 0; d < hs; ++d) wback[((b * H + h) * T + t) * hs + d] = y[(b * T + t) * C + h * hs + d];
    close(back, wback, 0, 0, "merge backward " + tag);
    hg::cpu::split_heads_backward(dqkv.data(), q.data(), k.data(), v.data(), gates.data(), B, T, H, hs);
    close(dqkv, wsplit_back, 1e-7, 1e-6, "split backward " + tag);
  }
  return finish("test_heads");
}
