// CPU attention with grouped-query attention (AttnShape::KV < H) and backward gains against a
// float64 reference: query head h reads k/v head h / (H/KV); dk/dv of a k/v head sum over its
// query heads, each with dout scaled by gains[h]; head_score stays the ungated Σ dout∘out.
// Also: KV = H with gains equals the gainless result scaled per head, and repeated calls are
// bitwise identical (the fixed summation order over a group).
#include "cpu/attention.h"
#include "core/errors.h"
#include "attention_reference.h"
#include "test_util.h"

using namespace hgtest;

namespace {

void check_case(std::mt19937_64& rng, hg::AttnShape s, bool causal, bool with_gains) {
  const std::string name = "B" + std::to_string(s.B) + " H" + std::to_string(s.H) + " KV" + std::to_string(s.kv()) +
                           " T" + std::to_string(s.T) + " D" + std::to_string(s.D) + (causal ? " causal" : " full") +
                           (with_gains ? " gains" : "");
  const auto qf = randn(rng, s.numel()), kf = randn(rng, s.kv_numel()), vf = randn(rng, s.kv_numel()),
             df = randn(rng, s.numel());
  std::vector<float> gains = randn(rng, s.H);
  if (with_gains) gains[0] = 0.f;  // an ablated head: its score must still be the ungated one
  const Vec gd = with_gains ? to_double(gains) : Vec(s.H, 1.0);
  hg::AttnParams p{causal, 0.f};
  p.gains = with_gains ? gains.data() : nullptr;
  const Reference ref = reference(to_double(qf), to_double(kf), to_double(vf), to_double(df), gd, s, causal,
                                  hg::effective_scale(s, p));

  std::vector<float> out(s.numel()), lse(s.rows());
  hg::cpu::attention_forward(qf.data(), kf.data(), vf.data(), out.data(), lse.data(), s, p);
  expect(max_rel_error(out, ref.out) < 2e-5, name + ": out");
  expect(max_rel_error(lse, ref.lse) < 2e-6, name + ": lse");

  std::vector<float> dq(s.numel()), dk(s.kv_numel(), NAN), dv(s.kv_numel(), NAN), hsc(s.B * s.H);
  hg::cpu::attention_backward(df.data(), qf.data(), kf.data(), vf.data(), out.data(), lse.data(), dq.data(), dk.data(),
                              dv.data(), hsc.data(), s, p);
  expect(max_rel_error(dq, ref.dq) < 1e-4, name + ": dq " + std::to_string(max_rel_error(dq, ref.dq)));
  expect(max_rel_error(dk, ref.dk) < 1e-4, name + ": dk " + std::to_string(max_rel_error(dk, ref.dk)));
  expect(max_rel_error(dv, ref.dv) < 1e-4, name + ": dv " + std::to_string(max_rel_error(dv, ref.dv)));
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const double tol = 1e-4 * (std::fabs(ref.head_score[bh]) + std::sqrt(double(s.T * s.D)));
    expect(std::fabs(hsc[bh] - ref.head_score[bh]) < tol, name + ": head_score");
  }
  std::vector<float> dq2(s.numel()), dk2(s.kv_numel()), dv2(s.kv_numel());
  hg::cpu::attention_backward(df.data(), qf.data(), kf.data(), vf.data(), out.data(), lse.data(), dq2.data(),
                              dk2.data(), dv2.data(), nullptr, s, p);
  expect(same_bits(dq, dq2) && same_bits(dk, dk2) && same_bits(dv, dv2), name + ": repeated backward differs");
}

}  // namespace

int main() {
  std::mt19937_64 rng(seed_from_env());
  for (bool causal : {true, false}) {
    for (bool gains : {false, true}) {
      check_case(rng, {1, 2, 1, 8, 1}, causal, gains);     // T = 1, one k/v head for two query heads
      check_case(rng, {2, 4, 5, 8, 2}, causal, gains);     // T smaller than a tile
      check_case(rng, {1, 6, 67, 16, 3}, causal, gains);   // T not a multiple of 64
      check_case(rng, {2, 4, 130, 12, 1}, causal, gains);  // multi-query, several key blocks
      check_case(rng, {1, 3, 70, 32, 3}, causal, gains);   // KV = H, with gains
    }
  }
  // kvHeads must divide heads
  try {
    hg::validate_attention(hg::AttnShape{1, 4, 8, 8, 3}, {});
    expect(false, "validate_attention accepted kvHeads 3 for 4 heads");
  } catch (const hg::Error& e) {
    expect(std::string(e.what()).find("kvHeads") != std::string::npos, "message names kvHeads: " + std::string(e.what()));
  }
  return finish("test_attention_gqa");
}
