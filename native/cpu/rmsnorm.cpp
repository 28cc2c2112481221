#include "cpu/rmsnorm.h"

#include <cmath>

#include "cpu/parallel.h"

namespace hg {
namespace cpu {

// out [N,C], rstd [N], inp [N,C], w [C]; the weight is (w_offset + w), w_offset 0 or Gemma's 1.
// Adding a 0 offset is exact, so the plain norm's results are unchanged.
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C,
                     float eps, float w_offset) {
  parallel_chunks(N, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = inp + r * C;
      float ss = 0.f;
      for (int64_t c = 0; c < C; ++c) ss += x[c] * x[c];
      const float s = 1.f / std::sqrt(ss / C + eps);
      float* o = out + r * C;
      for (int64_t c = 0; c < C; ++c) o[c] = x[c] * s * (w_offset + w[c]);
      rstd[r] = s;
    }
  }, 3 * C);
}

// Forward: o[c] = x[c] · s · w[c] (w[c] standing for w_offset + w[c] throughout), s = (Σ x²/C + eps)^(-1/2), so ∂s/∂x[c] = −s³ x[c] / C:
//   dx[c] = s · w[c] d[c] − s³ x[c] / C · Σ_k w[k] d[k] x[k]
// dw needs a column reduction, done per column chunk over the rows in order (no two threads
// add into the same float).
void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                      const float* rstd, int64_t N, int64_t C, float w_offset) {
  parallel_chunks(N, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = inp + r * C;
      const float* d = dout + r * C;
      const float s = rstd[r];
      float dot = 0.f;  // Σ w d x
      for (int64_t c = 0; c < C; ++c) dot += (w_offset + w[c]) * d[c] * x[c];
      const float k = s * s * s * dot / C;
      float* dx = dinp + r * C;
      for (int64_t c = 0; c < C; ++c) dx[c] += s * (w_offset + w[c]) * d[c] - k * x[c];
    }
  }, 5 * C);
  if (!dw) return;  // scores-only backward: no weight gradients
  parallel_chunks(C, 64, [&](int64_t c0, int64_t c1) {
    for (int64_t r = 0; r < N; ++r) {
      const float* x = inp + r * C;
      const float* d = dout + r * C;
      const float s = rstd[r];
      for (int64_t c = c0; c < c1; ++c) dw[c] += d[c] * x[c] * s;
    }
  }, 2 * N);
}

}  // namespace cpu
}  // namespace hg
