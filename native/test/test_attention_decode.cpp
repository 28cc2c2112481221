// cpu::attention_decode against float64 causal attention over the whole sequence: the cache is
// filled by a prompt call (n > 1, pos 0) and then grown one token at a time; rows of every call
// must equal the reference rows for their positions, times the head gate. Multi-head and
// grouped-query (KV < H: query head h reads k/v head h / (H/KV)), with and without a sliding
// window (query i sees keys i − window + 1 .. i), with the default or a given scale, and with
// Gemma 2's soft-capped scores (s -> cap·tanh(s/cap)); the caps are small enough to bend these
// scores (|s| reaches ~3 with hs >= 4 and unit normal q, k).
#include <cmath>

#include "cpu/attention_decode.h"
#include "test_util.h"

using namespace hgtest;

namespace {

// out [T,C] token-major, for qkv [T,QKV] of the full sequence
std::vector<double> reference(const std::vector<float>& qkv, const std::vector<float>& gates, int64_t T, int64_t H,
                              int64_t KV, int64_t hs, int64_t window, double scale, double softcap) {
  const int64_t C = H * hs, QKV = (H + 2 * KV) * hs;
  std::vector<double> out(T * C, 0.0);
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h / (H / KV);
    for (int64_t i = 0; i < T; ++i) {
      std::vector<double> s(i + 1);
      double mx = -INFINITY, sum = 0;
      const int64_t j0 = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
      for (int64_t j = j0; j <= i; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < hs; ++d) dot += static_cast<double>(qkv[i * QKV + h * hs + d]) * qkv[j * QKV + C + g * hs + d];
        s[j] = dot * (scale > 0 ? scale : 1 / std::sqrt(static_cast<double>(hs)));
        if (softcap > 0) s[j] = softcap * std::tanh(s[j] / softcap);
        mx = std::max(mx, s[j]);
      }
      for (int64_t j = j0; j <= i; ++j) sum += std::exp(s[j] - mx);
      for (int64_t j = j0; j <= i; ++j)
        for (int64_t d = 0; d < hs; ++d)
          out[i * C + h * hs + d] += gates[h] * std::exp(s[j] - mx) / sum * qkv[j * QKV + C + KV * hs + g * hs + d];
    }
  }
  return out;
}

void check(int64_t prompt, int64_t T, int64_t H, int64_t KV, int64_t hs, int64_t P, std::mt19937& rng, int64_t window = 0,
           float scale = 0.f, float softcap = 0.f) {
  const int64_t C = H * hs, QKV = (H + 2 * KV) * hs;
  const auto qkv = randn(rng, T * QKV), gates = randn(rng, H);
  const auto want = reference(qkv, gates, T, H, KV, hs, window, scale, softcap);
  std::vector<float> kc(KV * P * hs), vc(KV * P * hs), out(T * C);
  hg::cpu::attention_decode(out.data(), qkv.data(), kc.data(), vc.data(), gates.data(), prompt, 0, H, KV, P, hs, window, scale, softcap);
  for (int64_t pos = prompt; pos < T; ++pos)
    hg::cpu::attention_decode(out.data() + pos * C, qkv.data() + pos * QKV, kc.data(), vc.data(), gates.data(), 1, pos,
                              H, KV, P, hs, window, scale, softcap);
  close(out, want, 1e-5, 1e-4,
        "attention_decode prompt=" + std::to_string(prompt) + " T=" + std::to_string(T) + " H=" + std::to_string(H) +
            " KV=" + std::to_string(KV) + " window=" + std::to_string(window) + " scale=" + std::to_string(scale) +
            " softcap=" + std::to_string(softcap));
}

}  // namespace

int main() {
  std::mt19937 rng(23);
  check(1, 1, 1, 1, 1, 1, rng);
  check(3, 9, 2, 2, 4, 12, rng);
  check(1, 20, 3, 3, 16, 20, rng);
  check(70, 75, 4, 4, 64, 80, rng);
  check(3, 9, 4, 2, 4, 12, rng);    // GQA, 2 query heads per k/v head
  check(5, 21, 6, 1, 8, 24, rng);   // multi-query: one k/v head
  check(1, 13, 6, 3, 10, 13, rng);
  check(3, 9, 2, 2, 4, 12, rng, 1);     // window 1: each token sees itself only
  check(6, 20, 4, 2, 8, 24, rng, 4);    // the prompt longer than the window, then one at a time
  check(70, 80, 2, 1, 16, 80, rng, 67);
  check(2, 9, 2, 2, 4, 12, rng, 50);    // a window longer than the sequence: full attention
  check(3, 12, 4, 2, 8, 12, rng, 0, 0.5f);          // queryScale 4: scale 4^-1/2
  check(3, 12, 4, 2, 8, 12, rng, 0, 0.f, 1.5f);     // attention soft-cap
  check(4, 20, 2, 1, 16, 24, rng, 5, 0.25f, 2.f);   // window, scale and cap together (a Gemma 2 local layer)
  return finish("test_attention_decode");
}
