#include "cpu/layernorm.h"

#include <cmath>

#include "cpu/parallel.h"

namespace hg {
namespace cpu {

constexpr float kEps = 1e-5f;

// out [N,C], mean/rstd [N], inp [N,C], w/b [C]
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w,
                       const float* b, int64_t N, int64_t C) {
  parallel_chunks(N, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = inp + r * C;
      float m = 0.f;
      for (int64_t c = 0; c < C; ++c) m += x[c];
      m /= C;
      float var = 0.f;  // two-pass variance: no cancellation when |mean| >> std
      for (int64_t c = 0; c < C; ++c) var += (x[c] - m) * (x[c] - m);
      var /= C;
      const float s = 1.f / std::sqrt(var + kEps);
      float* o = out + r * C;
      for (int64_t c = 0; c < C; ++c) o[c] = (x[c] - m) * s * w[c] + b[c];
      mean[r] = m;
      rstd[r] = s;
    }
  }, 4 * C);
}

// Forward: o[c] = (x[c] - m) * s * w[c] + b[c], with m, s functions of the whole row x.
// dinp needs row reductions (one pass over rows); dw/db need column reductions, done per
// column chunk over the rows in order so that no two threads add into the same float.
void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                        const float* w, const float* mean, const float* rstd, int64_t N, int64_t C) {
  parallel_chunks(N, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = inp + r * C;
      const float* d = dout + r * C;
      const float m = mean[r], s = rstd[r];
      float dnorm_mean = 0.f, dnorm_norm_mean = 0.f;
      for (int64_t c = 0; c < C; ++c) {
        const float dnorm = d[c] * w[c];
        dnorm_mean += dnorm;
        dnorm_norm_mean += dnorm * (x[c] - m) * s;
      }
      dnorm_mean /= C;
      dnorm_norm_mean /= C;
      float* dx = dinp + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const float norm = (x[c] - m) * s;
        dx[c] += (d[c] * w[c] - dnorm_mean - norm * dnorm_norm_mean) * s;
      }
    }
  }, 6 * C);
  if (!dw) return;  // scores-only backward: no weight gradients
  parallel_chunks(C, 64, [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < N; ++r) {
      const float* x = inp + r * C;
      const float* d = dout + r * C;
      const float m = mean[r], s = rstd[r];
      for (int64_t c = c0; c < c1; ++c) {
        dw[c] += d[c] * (x[c] - m) * s;
        db[c] += d[c];
      }
    }
  }, 2 * N);
}

}  // namespace cpu
}  // namespace hg
