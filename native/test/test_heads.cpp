// cpu::split_heads / merge_heads and their backwards: the index maps of core/ops.h, with gates,
// for multi-head (KV = H) and grouped-query (KV < H: K/V blocks of KV heads, gates null) rows.
#include "cpu/heads.h"
#include "test_util.h"

using namespace hgtest;

int main() {
  std::mt19937 rng(9);
  const int64_t shapes[][5] = {{1, 1, 1, 1, 1}, {2, 5, 3, 3, 4}, {3, 17, 2, 2, 9}, {2, 5, 4, 2, 3}, {1, 7, 6, 1, 5}};
  for (const auto& s : shapes) {
    const int64_t B = s[0], T = s[1], H = s[2], KV = s[3], hs = s[4];
    const std::string tag = "B=" + std::to_string(B) + " T=" + std::to_string(T) + " H=" + std::to_string(H) +
                            " KV=" + std::to_string(KV);
    const int64_t C = H * hs, QKV = (H + 2 * KV) * hs, n = B * T * C, nkv = B * T * KV * hs;
    const bool gated = KV == H;  // split_heads_backward takes gates only without grouping
    const auto qkv = randn(rng, B * T * QKV), gates = randn(rng, H);
    std::vector<float> q(n), k(nkv), v(nkv);
    hg::cpu::split_heads(q.data(), k.data(), v.data(), qkv.data(), B, T, H, KV, hs);
    std::vector<double> wq(n), wk(nkv), wv(nkv), wmerge(n), wsplit_back(B * T * QKV);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t row = (b * T + t) * QKV;
        for (int64_t h = 0; h < H; ++h)
          for (int64_t d = 0; d < hs; ++d) {
            const int64_t hm = ((b * H + h) * T + t) * hs + d;
            wq[hm] = qkv[row + h * hs + d];
            wmerge[(b * T + t) * C + h * hs + d] = gates[h] * static_cast<double>(q[hm]);
            wsplit_back[row + h * hs + d] = (gated ? gates[h] : 1.0) * static_cast<double>(q[hm]);
          }
        for (int64_t g = 0; g < KV; ++g)
          for (int64_t d = 0; d < hs; ++d) {
            const int64_t km = ((b * KV + g) * T + t) * hs + d;
            wk[km] = qkv[row + (H + g) * hs + d];
            wv[km] = qkv[row + (H + KV + g) * hs + d];
            wsplit_back[row + (H + g) * hs + d] = (gated ? gates[g] : 1.0) * static_cast<double>(k[km]);
            wsplit_back[row + (H + KV + g) * hs + d] = (gated ? gates[g] : 1.0) * static_cast<double>(v[km]);
          }
      }
    close(q, wq, 0, 0, "split q " + tag);
    close(k, wk, 0, 0, "split k " + tag);
    close(v, wv, 0, 0, "split v " + tag);
    std::vector<float> y(n), back(n), dqkv(B * T * QKV, NAN);  // NaN: every element must be written
    hg::cpu::merge_heads(y.data(), q.data(), gates.data(), B, T, H, hs);
    close(y, wmerge, 1e-7, 1e-6, "merge " + tag);
    hg::cpu::merge_heads_backward(back.data(), y.data(), B, T, H, hs);  // ungated: back = gate·q
    std::vector<double> wback(n);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t d = 0; d < hs; ++d) wback[((b * H + h) * T + t) * hs + d] = y[(b * T + t) * C + h * hs + d];
    close(back, wback, 0, 0, "merge backward " + tag);
    hg::cpu::split_heads_backward(dqkv.data(), q.data(), k.data(), v.data(), gated ? gates.data() : nullptr, B, T, H,
                                  KV, hs);
    close(dqkv, wsplit_back, 1e-7, 1e-6, "split backward " + tag);
  }
  return finish("test_heads");
}
