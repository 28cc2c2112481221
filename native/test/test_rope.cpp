// RoPE: the frequency tables (core/rope.h) against the Hugging Face formulas written out
// independently here (default, linear, llama3, longrope with its attention factor), and cpu::rope_forward/backward against a
// float64 rotate_half reference and central finite differences, at a position offset (decode)
// and on rows whose later columns (the v heads) must stay untouched.
#include <cmath>

#include "core/rope.h"
#include "cpu/rope.h"
#include "test_util.h"

using namespace hgtest;

namespace {

// HF _compute_default_rope_parameters / linear / llama3 / longrope, step by step as written
// there (longrope: 1 / (ext_factors · base^(2i/dim)), the long list when seq_len > original max).
std::vector<double> hf_inv_freq(const hg::GPTConfig& c, bool long_factors = false) {
  const int64_t hs = c.hs();
  std::vector<double> inv(hs / 2);
  for (int64_t i = 0; i < hs / 2; ++i) inv[i] = 1.0 / std::pow(c.rope_theta, double(2 * i) / double(hs));
  const hg::RopeScaling& r = c.rope_scaling;
  if (r.type == hg::RopeScalingKind::Linear)
    for (auto& x : inv) x = x / r.factor;
  if (r.type == hg::RopeScalingKind::Llama3) {
    const double old = double(r.original_max_positions);
    const double low_wl = old / r.low_freq_factor, high_wl = old / r.high_freq_factor;
    for (auto& x : inv) {
      const double wl = 2 * M_PI / x;
      double llama = wl > low_wl ? x / r.factor : x;  // torch.where(wavelen > low_freq_wavelen, ...)
      const double smooth = (old / wl - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      const double smoothed = (1 - smooth) * llama / r.factor + smooth * llama;
      const bool medium = !(wl < high_wl) && !(wl > low_wl);
      x = medium ? smoothed : llama;
    }
  }
  if (r.type == hg::RopeScalingKind::LongRope) {
    const std::vector<double>& ext = long_factors ? r.long_factor : r.short_factor;
    for (int64_t i = 0; i < hs / 2; ++i) inv[i] = 1.0 / (ext[i] * std::pow(c.rope_theta, double(2 * i) / double(hs)));
  }
  return inv;
}

// cos and sin scaled by longrope's attention factor (HF: emb.cos() * attention_scaling)
void check_tables(hg::GPTConfig c, const std::string& tag, bool long_factors = false) {
  const auto got = hg::rope_inv_freq(c, long_factors), want = hf_inv_freq(c, long_factors);
  for (size_t i = 0; i < want.size(); ++i)
    expect(std::fabs(got[i] - want[i]) <= 1e-15 * std::fabs(want[i]), tag + ": inv_freq[" + std::to_string(i) + "]");
  std::vector<float> cs, sn;
  hg::rope_tables(c, c.P, long_factors, cs, sn);
  expect(cs.size() == static_cast<size_t>(c.P * c.hs() / 2), tag + ": [P, hs/2] tables");
  const double m = c.rope_scaling.type == hg::RopeScalingKind::LongRope ? c.rope_scaling.attention_factor : 1.0;
  const int64_t half = c.hs() / 2;
  for (int64_t p = 0; p < c.P; ++p)
    for (int64_t i = 0; i < half; ++i) {
      expect(std::fabs(cs[p * half + i] - m * std::cos(p * want[i])) < 1e-6, tag + ": cos");
      expect(std::fabs(sn[p * half + i] - m * std::sin(p * want[i])) < 1e-6, tag + ": sin");
    }
}

// x [N, stride], first `heads` blocks of hs rotated at position pos0 + r % T (float64)
std::vector<double> ref_rope(std::vector<double> x, const std::vector<double>& inv, int64_t N, int64_t T, int64_t pos0,
                             int64_t heads, int64_t stride, int64_t hs) {
  const int64_t half = hs / 2;
  for (int64_t r = 0; r < N; ++r)
    for (int64_t h = 0; h < heads; ++h) {
      double* a = x.data() + r * stride + h * hs;
      std::vector<double> rot(hs);  // rotate_half(a) = [-a2, a1]
      for (int64_t i = 0; i < half; ++i) {
        rot[i] = -a[i + half];
        rot[i + half] = a[i];
      }
      const double p = double(pos0 + r % T);
      for (int64_t i = 0; i < hs; ++i) {
        const double ang = p * inv[i % half];  // HF's cos/sin tables repeat the frequencies
        a[i] = a[i] * std::cos(ang) + rot[i] * std::sin(ang);
      }
    }
  return x;
}

void check_apply(const hg::GPTConfig& c, int64_t N, int64_t T, int64_t pos0, int64_t heads, int64_t extra,
                 std::mt19937& rng) {
  const int64_t hs = c.hs(), stride = heads * hs + extra;
  const std::string tag = "rope N=" + std::to_string(N) + " T=" + std::to_string(T) + " pos0=" + std::to_string(pos0) +
                          " hs=" + std::to_string(hs);
  std::vector<float> cs, sn;
  hg::rope_tables(c, c.P, false, cs, sn);
  const auto inv = hf_inv_freq(c);
  const auto x = randn(rng, N * stride);
  auto y = x;
  hg::cpu::rope_forward(y.data(), cs.data(), sn.data(), N, T, pos0, heads, stride, hs);
  close(y, ref_rope(to_double(x), inv, N, T, pos0, heads, stride, hs), 1e-5, 1e-5, tag + " forward");

  // backward: dx = ∂(Σ dy·rope(x))/∂x by central differences of the float64 reference
  const auto dy = randn(rng, N * stride);
  const auto dyd = to_double(dy);
  const auto want = numeric_grad(to_double(x), [&](const std::vector<double>& v) {
    const auto o = ref_rope(v, inv, N, T, pos0, heads, stride, hs);
    double s = 0;
    for (size_t i = 0; i < o.size(); ++i) s += o[i] * dyd[i];
    return s;
  });
  auto dx = dy;
  hg::cpu::rope_backward(dx.data(), cs.data(), sn.data(), N, T, pos0, heads, stride, hs);
  close(dx, want, 1e-5, 1e-4, tag + " backward");
}

}  // namespace

int main() {
  std::mt19937 rng(31);
  hg::GPTConfig c{50, 40, 1, 2, 32};
  c.positions = hg::PosKind::Rope;
  check_tables(c, "default theta");
  c.rope_theta = 500000;
  check_tables(c, "theta 5e5");
  c.rope_scaling.type = hg::RopeScalingKind::Linear;
  c.rope_scaling.factor = 4;
  check_tables(c, "linear");
  // Llama 3.1's scaling, on a short originalMaxPositions so that all three bands occur at hs 32
  hg::GPTConfig l3{50, 40, 1, 2, 256};
  l3.positions = hg::PosKind::Rope;
  l3.rope_theta = 500000;
  l3.rope_scaling = {hg::RopeScalingKind::Llama3, 8.0, 1.0, 4.0, 64};
  check_tables(l3, "llama3");
  {
    const auto f = hg::rope_inv_freq(l3), plain = [&] {
      hg::GPTConfig u = l3;
      u.rope_scaling = {};
      return hg::rope_inv_freq(u);
    }();
    int kept = 0, scaled = 0, mixed = 0;
    for (size_t i = 0; i < f.size(); ++i) {
      if (f[i] == plain[i]) ++kept;
      else if (std::fabs(f[i] - plain[i] / 8) < 1e-18) ++scaled;
      else ++mixed;
    }
    expect(kept > 0 && scaled > 0 && mixed > 0, "llama3 test config exercises all three bands: kept " +
                                                    std::to_string(kept) + " scaled " + std::to_string(scaled) +
                                                    " mixed " + std::to_string(mixed));
  }
  // longrope (Phi-3 128k): per-frequency divisors, short and long lists, cos/sin times the
  // attention factor; the long/short choice by the pass's end position
  hg::GPTConfig lr{50, 40, 1, 2, 32};
  lr.positions = hg::PosKind::Rope;
  lr.rope_scaling.type = hg::RopeScalingKind::LongRope;
  lr.rope_scaling.original_max_positions = 12;
  lr.rope_scaling.attention_factor = std::sqrt(1 + std::log(40.0 / 12) / std::log(12.0));
  for (int i = 0; i < 8; ++i) {
    lr.rope_scaling.short_factor.push_back(1.0 + 0.05 * i);
    lr.rope_scaling.long_factor.push_back(1.0 + 3.0 * i);
  }
  check_tables(lr, "longrope short");
  check_tables(lr, "longrope long", true);
  expect(hg::rope_inv_freq(lr, true)[7] < hg::rope_inv_freq(lr, false)[7] / 10, "longrope: the lists differ");
  expect(!lr.rope_scaling.long_context(12) && lr.rope_scaling.long_context(13), "longrope: long past original max");
  expect(!c.rope_scaling.long_context(1000), "long_context: longrope only");
  check_apply(c, 1, 1, 0, 1, 0, rng);
  check_apply(c, 6, 3, 0, 3, 32, rng);   // 2 sequences of 3, q+k heads rotated, a v head untouched
  check_apply(c, 5, 5, 17, 2, 64, rng);  // decode: positions 17..21
  check_apply(l3, 7, 7, 30, 1, 0, rng);  // llama3 frequencies, hs 128
  hg::GPTConfig small{50, 40, 1, 1, 2};  // hs 2: one pair
  small.positions = hg::PosKind::Rope;
  check_apply(small, 9, 3, 0, 1, 0, rng);
  return finish("test_rope");
}
