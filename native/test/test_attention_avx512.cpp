// The AVX-512 register-blocked attention kernels: the forward against a float64 reference and
// the portable kernel, the backward against the portable one (itself held to float64 by
// test_attention and test_attention_gqa, which also run these kernels through the dispatch), on shapes that leave partial tiles everywhere: T = 1, T below and not a
// multiple of the 64-key tile and of the 4-row register tile, D = 16 (one vector) up to 256
// (D slices of 64 with and without a remainder), causal and not, a custom scale, and large
// scores (the online softmax's rescaling), grouped-query heads and per-head gains in the
// backward. Repeated calls are bitwise identical, and so are
// calls on 1 and on several threads (checked by test/attention.test.ts across processes).
// Skipped (77) in a build without AVX-512.
#include <cmath>

#include "cpu/attention.h"
#include "cpu/attention_avx512.h"
#include "test_util.h"

using namespace hgtest;

namespace {

void reference(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
               const hg::AttnShape& s, bool causal, double scale, std::vector<double>& out, std::vector<double>& lse) {
  const int64_t T = s.T, D = s.D;
  out.assign(s.numel(), 0.0);
  lse.assign(s.rows(), 0.0);
  std::vector<double> row(T);
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t o = bh * T * D;
    const int64_t ko = ((bh / s.H) * s.kv() + (bh % s.H) / (s.H / s.kv())) * T * D;  // its k/v head
    for (int64_t i = 0; i < T; ++i) {
      const int64_t jend = causal ? i + 1 : T;
      double mx = -INFINITY;
      for (int64_t j = 0; j < jend; ++j) {
        double acc = 0;
        for (int64_t d = 0; d < D; ++d) acc += static_cast<double>(q[o + i * D + d]) * k[ko + j * D + d];
        row[j] = scale * acc;
        mx = std::max(mx, row[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < jend; ++j) sum += std::exp(row[j] - mx);
      lse[bh * T + i] = mx + std::log(sum);
      for (int64_t j = 0; j < jend; ++j) {
        const double pj = std::exp(row[j] - lse[bh * T + i]);
        for (int64_t d = 0; d < D; ++d) out[o + i * D + d] += pj * v[ko + j * D + d];
      }
    }
  }
}

// The backward through the dispatch (AVX-512 stage 2) against the portable backward.
void check_backward(std::mt19937_64& rng, hg::AttnShape s, bool causal, bool gains) {
  const std::string name = "backward B" + std::to_string(s.B) + " H" + std::to_string(s.H) + " KV" +
                           std::to_string(s.kv()) + " T" + std::to_string(s.T) + " D" + std::to_string(s.D) +
                           (causal ? " causal" : " full") + (gains ? " gains" : "");
  const auto q = randn(rng, s.numel()), k = randn(rng, s.kv_numel()), v = randn(rng, s.kv_numel()),
             dout = randn(rng, s.numel());
  std::vector<float> g(s.H);
  for (int64_t h = 0; h < s.H; ++h) g[h] = 0.25f + 0.5f * h;
  hg::AttnParams p{causal, 0.f, gains ? g.data() : nullptr};
  std::vector<float> out(s.numel()), lse(s.rows());
  hg::cpu::attention_forward_portable(q.data(), k.data(), v.data(), out.data(), lse.data(), s, p);
  std::vector<float> dq(s.numel()), dk(s.kv_numel()), dv(s.kv_numel()), hs(s.B * s.H);
  std::vector<float> pq(s.numel()), pk(s.kv_numel()), pv(s.kv_numel()), phs(s.B * s.H);
  hg::cpu::attention_backward(dout.data(), q.data(), k.data(), v.data(), out.data(), lse.data(), dq.data(), dk.data(),
                              dv.data(), hs.data(), s, p);
  hg::cpu::attention_backward_portable(dout.data(), q.data(), k.data(), v.data(), out.data(), lse.data(), pq.data(),
                                       pk.data(), pv.data(), phs.data(), s, p);
  const auto dd = [](const std::vector<float>& x) { return std::vector<double>(x.begin(), x.end()); };
  expect(max_rel_error(dq, dd(pq)) < 2e-5, name + ": dq " + std::to_string(max_rel_error(dq, dd(pq))));
  expect(max_rel_error(dk, dd(pk)) < 2e-5, name + ": dk " + std::to_string(max_rel_error(dk, dd(pk))));
  expect(max_rel_error(dv, dd(pv)) < 2e-5, name + ": dv " + std::to_string(max_rel_error(dv, dd(pv))));
  expect(same_bits(hs, phs), name + ": head scores (stage 1 is shared)");
  std::vector<float> dq2(s.numel()), dk2(s.kv_numel()), dv2(s.kv_numel());
  hg::cpu::attention_backward(dout.data(), q.data(), k.data(), v.data(), out.data(), lse.data(), dq2.data(),
                              dk2.data(), dv2.data(), nullptr, s, p);
  expect(same_bits(dq, dq2) && same_bits(dk, dk2) && same_bits(dv, dv2), name + ": repeated call differs");
}

void check(std::mt19937_64& rng, hg::AttnShape s, bool causal, float scale, float qstd = 1.f) {
  const std::string name = "B" + std::to_string(s.B) + " H" + std::to_string(s.H) + " T" + std::to_string(s.T) +
                           " D" + std::to_string(s.D) + (causal ? " causal" : " full");
  const auto q = randn(rng, s.numel(), qstd), k = randn(rng, s.kv_numel()), v = randn(rng, s.kv_numel());
  const hg::AttnParams p{causal, scale};
  std::vector<double> rout, rlse;
  reference(q, k, v, s, causal, hg::effective_scale(s, p), rout, rlse);
  std::vector<float> out(s.numel(), NAN), lse(s.rows(), NAN);
  hg::cpu::attention_forward_avx512(q.data(), k.data(), v.data(), out.data(), lse.data(), s, p);
  const double eo = max_rel_error(out, rout), el = max_rel_error(lse, rlse);
  expect(eo < 2e-5, name + ": out " + std::to_string(eo));
  expect(el < 2e-6, name + ": lse " + std::to_string(el));
  std::vector<float> out2(s.numel()), lse2(s.rows());
  hg::cpu::attention_forward_avx512(q.data(), k.data(), v.data(), out2.data(), lse2.data(), s, p);
  expect(same_bits(out, out2) && same_bits(lse, lse2), name + ": repeated call differs");
  std::vector<float> pout(s.numel()), plse(s.rows());
  hg::cpu::attention_forward_portable(q.data(), k.data(), v.data(), pout.data(), plse.data(), s, p);
  expect(max_rel_error(out, std::vector<double>(pout.begin(), pout.end())) < 2e-5, name + ": differs from the portable kernel");
}

}  // namespace

int main() {
  if (!hg::cpu::attention_forward_avx512_applies({1, 1, 1, 16})) {
    std::printf("skip: this build has no AVX-512 attention kernel\n");
    return 77;
  }
  const uint64_t seed = seed_from_env();
  std::printf("seed %llu (HEADGRAD_TEST_SEED repeats it)\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  for (bool causal : {true, false}) {
    check(rng, {1, 1, 1, 16}, causal, 0.f);       // T = 1
    check(rng, {1, 2, 3, 32}, causal, 0.f);       // fewer rows than a register tile
    check(rng, {2, 1, 5, 16}, causal, 0.f);       // one full and one partial register tile
    check(rng, {1, 3, 67, 64}, causal, 0.f);      // T past one key tile
    check(rng, {2, 2, 130, 80}, causal, 0.3f);    // D = 64 + 16: a partial D slice; custom scale
    check(rng, {1, 1, 200, 128}, causal, 0.f);
    check(rng, {1, 1, 70, 256}, causal, 0.f);     // the largest D
    check(rng, {1, 2, 129, 48}, causal, 0.f, 6.f);  // large scores: the running max moves
    check(rng, {2, 4, 70, 32, 2}, causal, 0.f);    // grouped-query: 2 query heads per k/v head
    for (bool gains : {false, true}) {
      check_backward(rng, {1, 1, 1, 16}, causal, gains);      // T = 1
      check_backward(rng, {2, 2, 7, 32}, causal, gains);      // a partial register tile
      check_backward(rng, {1, 3, 67, 64}, causal, gains);     // a partial key block
      check_backward(rng, {1, 2, 200, 80}, causal, gains);    // partial D slice, several query blocks
      check_backward(rng, {1, 1, 70, 256}, causal, gains);    // the largest D
      check_backward(rng, {2, 4, 131, 48, 2}, causal, gains); // grouped-query
      check_backward(rng, {1, 6, 66, 16, 1}, causal, gains);  // multi-query
    }
  }
  return finish("test_attention_avx512");
}
