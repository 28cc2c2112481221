#include "core/rope.h"

#include <cmath>

namespace hg {

std::vector<double> rope_inv_freq(const GPTConfig& c, bool long_factors) {
  const int64_t hs = c.hs(), half = hs / 2;
  std::vector<double> f(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) f[i] = 1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / hs);
  const RopeScaling& r = c.rope_scaling;
  if (r.type == RopeScalingKind::Linear) {
    for (double& x : f) x /= r.factor;
  } else if (r.type == RopeScalingKind::Llama3) {
    const double old_len = static_cast<double>(r.original_max_positions);
    const double low_wavelen = old_len / r.low_freq_factor;    // longer than this: scaled fully
    const double high_wavelen = old_len / r.high_freq_factor;  // shorter than this: kept
    for (double& x : f) {
      const double wavelen = 2 * M_PI / x;
      if (wavelen > low_wavelen) {
        x /= r.factor;
      } else if (wavelen >= high_wavelen) {
        const double s = (old_len / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        x = (1 - s) * x / r.factor + s * x;
      }
    }
  } else if (r.type == RopeScalingKind::LongRope) {
    const std::vector<double>& factor = long_factors ? r.long_factor : r.short_factor;
    for (int64_t i = 0; i < half; ++i) f[i] /= factor[i];
  }
  return f;
}

void rope_tables(const GPTConfig& c, int64_t positions, bool long_factors, std::vector<float>& cos,
                 std::vector<float>& sin) {
  const std::vector<double> f = rope_inv_freq(c, long_factors);
  const int64_t half = static_cast<int64_t>(f.size());
  // longrope's magnitude scaling; 1 (an exact no-op) for every other scaling
  const double m = c.rope_scaling.type == RopeScalingKind::LongRope ? c.rope_scaling.attention_factor : 1.0;
  cos.assign(static_cast<size_t>(positions * half), 0.f);
  sin.assign(static_cast<size_t>(positions * half), 0.f);
  for (int64_t p = 0; p < positions; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      const double a = static_cast<double>(p) * f[i];
      cos[p * half + i] = static_cast<float>(m * std::cos(a));
      sin[p * half + i] = static_cast<float>(m * std::sin(a));
    }
  }
}

}  // namespace hg
