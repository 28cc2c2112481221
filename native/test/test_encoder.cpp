// cpu::encoder_forward/backward: exact sums, and accumulation into repeated token rows; the
// forward on bf16 tables (a bf16 model's) sums the exactly widened values.
#include "core/bf16.h"
#include "cpu/encoder.h"
#include "test_util.h"

using namespace hgtest;

int main() {
  std::mt19937 rng(5);
  const int64_t shapes[][4] = {{1, 1, 1, 1}, {2, 5, 7, 3}, {3, 9, 130, 4}};
  for (const auto& s : shapes) {
    const int64_t B = s[0], T = s[1], C = s[2], V = s[3];
    const std::string tag = "B=" + std::to_string(B) + " T=" + std::to_string(T) + " C=" + std::to_string(C);
    const int64_t P = T + 2;
    std::vector<int32_t> tok(B * T);
    for (auto& t : tok) t = static_cast<int32_t>(rng() % V);  // V small: tokens repeat
    const auto wte = randn(rng, V * C), wpe = randn(rng, P * C), dout = randn(rng, B * T * C);
    std::vector<float> out(B * T * C);
    hg::cpu::encoder_forward(out.data(), tok.data(), wte.data(), wpe.data(), B, T, C);
    std::vector<double> want(B * T * C);
    for (int64_t r = 0; r < B * T; ++r)
      for (int64_t c = 0; c < C; ++c) want[r * C + c] = static_cast<double>(wte[tok[r] * C + c]) + wpe[(r % T) * C + c];
    close(out, want, 1e-6, 1e-6, "encoder forward " + tag);

    // bf16 tables, with and without positions: the sums of the widened values
    std::vector<uint16_t> wte16(V * C), wpe16(P * C);
    for (size_t i = 0; i < wte16.size(); ++i) wte16[i] = hg::to_bf16(wte[i]);
    for (size_t i = 0; i < wpe16.size(); ++i) wpe16[i] = hg::to_bf16(wpe[i]);
    for (const bool positions : {true, false}) {
      hg::cpu::encoder_forward(out.data(), tok.data(), wte16.data(), positions ? wpe16.data() : nullptr, B, T, C);
      for (int64_t r = 0; r < B * T; ++r)
        for (int64_t c = 0; c < C; ++c)
          want[r * C + c] = static_cast<double>(hg::from_bf16(wte16[tok[r] * C + c])) +
                            (positions ? hg::from_bf16(wpe16[(r % T) * C + c]) : 0.f);
      close(out, want, 1e-6, 1e-6, std::string("encoder forward, bf16 tables") + (positions ? "" : " without positions ") + tag);
    }

    auto dwte = randn(rng, V * C), dwpe = randn(rng, P * C);
    auto want_dwte = to_double(dwte), want_dwpe = to_double(dwpe);
    for (int64_t r = 0; r < B * T; ++r)
      for (int64_t c = 0; c < C; ++c) {
        want_dwte[tok[r] * C + c] += dout[r * C + c];
        want_dwpe[(r % T) * C + c] += dout[r * C + c];
      }
    hg::cpu::encoder_backward(dwte.data(), dwpe.data(), dout.data(), tok.data(), B, T, C);
    close(dwte, want_dwte, 1e-5, 1e-5, "encoder dwte " + tag);
    close(dwpe, want_dwpe, 1e-5, 1e-5, "encoder dwpe " + tag);
  }
  return finish("test_encoder");
}
