// The float64 attention reference of the CPU tests: the textbook formulas of core/attention.h,
// one (b,h) at a time, materialising P. Covers grouped-query heads (query head h reads k/v head
// h / (H/KV); dk/dv of a k/v head sum over its query heads) and backward gains (dout of head h
// counts gains[h] times in dq, dk, dv, not in head_score). KV = H and gains of 1 is plain MHA.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/attention.h"

namespace hgtest {

using Vec = std::vector<double>;

struct Reference {
  Vec out, lse, dq, dk, dv, head_score;
};

// window > 0 (causal): query i sees keys i − window + 1 .. i. softcap > 0: the scores
// s = scale·q·k become softcap·tanh(s/softcap) before the softmax, so dS₀ = dS·(1 − tanh²).
inline Reference reference(const Vec& q, const Vec& k, const Vec& v, const Vec& dout, const Vec& gains,
                           const hg::AttnShape& s, bool causal, double scale, int64_t window = 0, double softcap = 0) {
  const int64_t T = s.T, D = s.D, H = s.H, KV = s.kv(), group = H / KV;
  Reference r{Vec(s.numel()), Vec(s.rows()), Vec(s.numel()), Vec(s.kv_numel()), Vec(s.kv_numel()), Vec(s.B * H)};
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t bh = b * H + h, o = bh * T * D, ko = (b * KV + h / group) * T * D;
      const double g = gains[h];
      Vec P(T * T, 0.0), dcap(T * T, 1.0);  // dcap: 1 − tanh² of the capped scores
      for (int64_t i = 0; i < T; ++i) {
        const int64_t jend = causal ? i + 1 : T;
        const int64_t jbeg = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
        double mx = -INFINITY;
        for (int64_t j = jbeg; j < jend; ++j) {
          double acc = 0;
          for (int64_t d = 0; d < D; ++d) acc += q[o + i * D + d] * k[ko + j * D + d];
          P[i * T + j] = scale * acc;
          if (softcap > 0) {
            const double t = std::tanh(P[i * T + j] / softcap);
            P[i * T + j] = softcap * t;
            dcap[i * T + j] = 1 - t * t;
          }
          mx = std::max(mx, P[i * T + j]);
        }
        double sum = 0;
        for (int64_t j = jbeg; j < jend; ++j) sum += std::exp(P[i * T + j] - mx);
        r.lse[bh * T + i] = mx + std::log(sum);
        for (int64_t j = jbeg; j < jend; ++j) P[i * T + j] = std::exp(P[i * T + j] - r.lse[bh * T + i]);
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = jbeg; j < jend; ++j) acc += P[i * T + j] * v[ko + j * D + d];
          r.out[o + i * D + d] = acc;
        }
      }
      for (int64_t i = 0; i < T; ++i) {
        double Di = 0;
        for (int64_t d = 0; d < D; ++d) Di += dout[o + i * D + d] * r.out[o + i * D + d];
        r.head_score[bh] += Di;
        for (int64_t j = 0; j < T; ++j) {
          if (P[i * T + j] == 0.0) continue;
          double dp = 0;
          for (int64_t d = 0; d < D; ++d) dp += dout[o + i * D + d] * v[ko + j * D + d];
          const double ds = g * P[i * T + j] * (dp - Di) * dcap[i * T + j];
          for (int64_t d = 0; d < D; ++d) {
            r.dv[ko + j * D + d] += g * P[i * T + j] * dout[o + i * D + d];
            r.dq[o + i * D + d] += scale * ds * k[ko + j * D + d];
            r.dk[ko + j * D + d] += scale * ds * q[o + i * D + d];
          }
        }
      }
    }
  return r;
}

}  // namespace hgtest
