#include "cpu/qk_norm.h"

#include <cmath>

#include "cpu/parallel.h"

namespace hg {
namespace cpu {
namespace {

// The groups of one row: the q block then the k block, each cut into `groups` runs of `width`.
struct Blocks {
  int64_t qg, kg, qw, kw, QKV;
  Blocks(int64_t H, int64_t KV, int64_t hs, bool per_head)
      : qg(per_head ? H : 1), kg(per_head ? KV : 1), qw(per_head ? hs : H * hs), kw(per_head ? hs : KV * hs),
        QKV((H + 2 * KV) * hs) {}
  int64_t groups() const { return qg + kg; }
  int64_t col(int64_t g) const { return g < qg ? g * qw : qg * qw + (g - qg) * kw; }  // first column
  int64_t width(int64_t g) const { return g < qg ? qw : kw; }
  int64_t v_col() const { return qg * qw + kg * kw; }
};

}  // namespace

// Per group: o[c] = x[c] · s · w[c], s = (Σ x²/width + eps)^(-1/2) (the same float arithmetic
// as rmsnorm_forward).
void qk_norm_forward(float* out, float* rstd, const float* inp, const float* wq, const float* wk, int64_t N,
                     int64_t H, int64_t KV, int64_t hs, bool per_head, float eps, float w_offset) {
  const Blocks b(H, KV, hs, per_head);
  parallel_chunks(N, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t g = 0; g < b.groups(); ++g) {
        const int64_t c0 = b.col(g), W = b.width(g);
        const float* x = inp + r * b.QKV + c0;
        const float* w = g < b.qg ? wq : wk;
        float ss = 0.f;
        for (int64_t c = 0; c < W; ++c) ss += x[c] * x[c];
        const float s = 1.f / std::sqrt(ss / W + eps);
        float* o = out + r * b.QKV + c0;
        for (int64_t c = 0; c < W; ++c) o[c] = x[c] * s * (w_offset + w[c]);
        rstd[r * b.groups() + g] = s;
      }
      if (out != inp)
        for (int64_t c = b.v_col(); c < b.QKV; ++c) out[r * b.QKV + c] = inp[r * b.QKV + c];
    }
  });
}

// Per group, as rmsnorm_backward: dx[c] = s·w[c]·d[c] − s³ x[c] / W · Σ_k w[k] d[k] x[k]. The
// dot product is taken before the group is overwritten, so dinp may be dout. dw sums over rows
// and groups in order per column chunk (deterministic).
void qk_norm_backward(float* dinp, float* dwq, float* dwk, const float* dout, const float* inp, const float* wq,
                      const float* wk, const float* rstd, int64_t N, int64_t H, int64_t KV, int64_t hs,
                      bool per_head, float w_offset) {
  const Blocks b(H, KV, hs, per_head);
  auto weight_grad = [&](float* dw, int64_t g0, int64_t g1, int64_t W) {
    parallel_chunks(W, 64, [&](int64_t c0, int64_t c1) {
      for (int64_t r = 0; r < N; ++r)
        for (int64_t g = g0; g < g1; ++g) {
          const float* x = inp + r * b.QKV + b.col(g);
          const float* d = dout + r * b.QKV + b.col(g);
          const float s = rstd[r * b.groups() + g];
          for (int64_t c = c0; c < c1; ++c) dw[c] += d[c] * x[c] * s;
        }
    });
  };
  // weight gradients first: dinp may overwrite dout below
  if (dwq) weight_grad(dwq, 0, b.qg, b.qw);
  if (dwk) weight_grad(dwk, b.qg, b.groups(), b.kw);
  parallel_chunks(N, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      for (int64_t g = 0; g < b.groups(); ++g) {
        const int64_t c0 = b.col(g), W = b.width(g);
        const float* x = inp + r * b.QKV + c0;
        const float* d = dout + r * b.QKV + c0;
        const float* w = g < b.qg ? wq : wk;
        const float s = rstd[r * b.groups() + g];
        float dot = 0.f;
        for (int64_t c = 0; c < W; ++c) dot += (w_offset + w[c]) * d[c] * x[c];
        const float k = s * s * s * dot / W;
        float* dx = dinp + r * b.QKV + c0;
        for (int64_t c = 0; c < W; ++c) dx[c] = s * (w_offset + w[c]) * d[c] - k * x[c];
      }
      if (dinp != dout)
        for (int64_t c = b.v_col(); c < b.QKV; ++c) dinp[r * b.QKV + c] = dout[r * b.QKV + c];
    }
  });
}

}  // namespace cpu
}  // namespace hg
