// CPU attention (core/attention.h) against a naive float64 reference on fresh random inputs.
// Shapes cover T = 1, T not a multiple of the 64-row tiles, D up to 256, causal and not, sliding
// windows (shorter than a tile, spanning tiles, longer than T), and B·H larger than the thread
// count. Also: head_score = Σ rowsum(dout∘out) of the reference,
// bitwise-identical repeated calls, and validate_attention's messages.
#include "cpu/attention.h"
#include "core/errors.h"
#include "core/thread_pool.h"
#include "attention_reference.h"
#include "test_util.h"

using namespace hgtest;

namespace {

void check_case(std::mt19937_64& rng, hg::AttnShape s, bool causal, float scale, int64_t window = 0, float softcap = 0.f) {
  const std::string name = "B" + std::to_string(s.B) + " H" + std::to_string(s.H) + " T" +
                           std::to_string(s.T) + " D" + std::to_string(s.D) +
                           (causal ? " causal" : " full") + " scale " + std::to_string(scale) +
                           (window ? " window " + std::to_string(window) : "") +
                           (softcap > 0 ? " softcap " + std::to_string(softcap) : "");
  const auto qf = randn(rng, s.numel()), kf = randn(rng, s.numel()), vf = randn(rng, s.numel()),
             df = randn(rng, s.numel());
  hg::AttnParams p{causal, scale};
  p.window = window;
  p.softcap = softcap;
  const Reference ref =
      reference(to_double(qf), to_double(kf), to_double(vf), to_double(df), Vec(s.H, 1.0), s, causal,
                hg::effective_scale(s, p), window, softcap);

  std::vector<float> out(s.numel()), lse(s.rows());
  hg::cpu::attention_forward(qf.data(), kf.data(), vf.data(), out.data(), lse.data(), s, p);
  expect(max_rel_error(out, ref.out) < 2e-5, name + ": out");
  expect(max_rel_error(lse, ref.lse) < 2e-6, name + ": lse");

  std::vector<float> dq(s.numel()), dk(s.numel()), dv(s.numel()), hs(s.B * s.H);
  hg::cpu::attention_backward(df.data(), qf.data(), kf.data(), vf.data(), out.data(), lse.data(),
                              dq.data(), dk.data(), dv.data(), hs.data(), s, p);
  expect(max_rel_error(dq, ref.dq) < 1e-4, name + ": dq " + std::to_string(max_rel_error(dq, ref.dq)));
  expect(max_rel_error(dk, ref.dk) < 1e-4, name + ": dk " + std::to_string(max_rel_error(dk, ref.dk)));
  expect(max_rel_error(dv, ref.dv) < 1e-4, name + ": dv " + std::to_string(max_rel_error(dv, ref.dv)));
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const double tol = 1e-4 * (std::fabs(ref.head_score[bh]) + std::sqrt(double(s.T * s.D)));
    expect(std::fabs(hs[bh] - ref.head_score[bh]) < tol, name + ": head_score");
  }

  // Same inputs, same thread count: bitwise the same, including with capture off.
  std::vector<float> dq2(s.numel()), dk2(s.numel()), dv2(s.numel());
  hg::cpu::attention_backward(df.data(), qf.data(), kf.data(), vf.data(), out.data(), lse.data(),
                              dq2.data(), dk2.data(), dv2.data(), nullptr, s, p);
  expect(same_bits(dq, dq2) && same_bits(dk, dk2) && same_bits(dv, dv2),
         name + ": repeated backward is not bitwise identical");
}

void check_rejects(hg::AttnShape s, hg::AttnParams p, const std::string& needle) {
  try {
    hg::validate_attention(s, p);
    expect(false, "validate_attention accepted a bad call (" + needle + ")");
  } catch (const hg::Error& e) {
    expect(e.kind == hg::ErrorKind::Range && std::string(e.what()).find(needle) != std::string::npos,
           "message '" + std::string(e.what()) + "' should name " + needle);
  }
}

}  // namespace

int main() {
  std::mt19937_64 rng(20240915);
  const int threads = hg::num_threads();
  for (bool causal : {true, false}) {
    check_case(rng, {1, 1, 1, 8}, causal, 0.f);                 // T = 1
    check_case(rng, {1, 1, 3, 1}, causal, 0.f);                 // D = 1
    check_case(rng, {1, 2, 5, 8}, causal, 0.f);                 // T smaller than a tile
    check_case(rng, {2, 3, 67, 64}, causal, 0.f);               // T not a multiple of 64
    check_case(rng, {1, 2, 130, 100}, causal, 0.3f);            // odd D, custom scale
    check_case(rng, {1, 1, 129, 128}, causal, 0.f);
    check_case(rng, {1, 1, 70, 256}, causal, 0.f);              // the largest D
    check_case(rng, {threads + 1, 2, 33, 8}, causal, 0.f);      // B·H > thread count
  }
  // sliding windows: within a tile, across tiles (tiles before the window skipped), the AVX-512
  // head sizes (windowed calls run the portable kernels), a window of 1, a window past T
  check_case(rng, {1, 2, 20, 8}, true, 0.f, 5);
  check_case(rng, {2, 2, 200, 16}, true, 0.f, 70);
  check_case(rng, {1, 1, 150, 64}, true, 0.f, 1);
  check_case(rng, {1, 3, 130, 32}, true, 0.f, 64);
  check_case(rng, {1, 1, 40, 8}, true, 0.f, 100);
  // Gemma 2's attention-logit soft-cap (portable kernels): caps of 1 and 2 bend these scores
  // (|scale·q·k| reaches ~4), at the AVX-512 head sizes too, with a window, causal and not
  for (bool causal : {true, false}) {
    check_case(rng, {1, 2, 20, 8}, causal, 0.f, 0, 1.f);
    check_case(rng, {2, 2, 130, 16}, causal, 0.5f, 0, 2.f);
    check_case(rng, {1, 1, 1, 64}, causal, 0.f, 0, 2.f);
  }
  check_case(rng, {1, 2, 150, 32}, true, 0.f, 70, 1.5f);
  {
    hg::AttnParams w;
    w.window = 4;
    w.causal = false;
    check_rejects({1, 1, 4, 8}, w, "window");
    w.causal = true;
    w.window = -1;
    check_rejects({1, 1, 4, 8}, w, "window");
  }
  check_rejects({0, 1, 1, 8}, {}, "batch");
  check_rejects({1, 0, 1, 8}, {}, "heads");
  check_rejects({1, 1, 0, 8}, {}, "seqLen");
  check_rejects({1, 1, 4, 257}, {}, "headDim");
  check_rejects({1, 1, 4, 8}, {true, -1.f}, "scale");
  check_rejects({1, 1, 4, 8}, {true, NAN}, "scale");
  {
    hg::AttnParams c;
    c.softcap = -1.f;
    check_rejects({1, 1, 4, 8}, c, "softcap");
    c.softcap = INFINITY;
    check_rejects({1, 1, 4, 8}, c, "softcap");
  }
  std::printf("%s (%d threads)\n", failures() ? "attention tests FAILED" : "attention tests passed",
              threads);
  return failures() ? 1 : 0;
}
