#include "cpu/heads.h"

#include "cpu/parallel.h"

namespace hg {
namespace cpu {

// q,k,v [B,H,T,hs], qkv [B,T,3C]
void split_heads(float* q, float* k, float* v, const float* qkv, int64_t B, int64_t T, int64_t H,
                 int64_t hs) {
  const int64_t C = H * hs;
  parallel_chunks(B * T, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, t = r % T;
      const float* row = qkv + r * 3 * C;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t dst = ((b * H + h) * T + t) * hs;
        for (int64_t d = 0; d < hs; ++d) {
          q[dst + d] = row[h * hs + d];
          k[dst + d] = row[C + h * hs + d];
          v[dst + d] = row[2 * C + h * hs + d];
        }
      }
    }
  });
}

// Forward: q[dst + d] = row[h*hs + d] (and k, v), followed by attention whose input
// gradients the engine got from an ungated dout; the gate multiplies them here.
void split_heads_backward(float* dqkv, const float* dq, const float* dk, const float* dv,
                          const float* gates, int64_t B, int64_t T, int64_t H, int64_t hs) {
  const int64_t C = H * hs;
  parallel_chunks(B * T, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, t = r % T;
      float* row = dqkv + r * 3 * C;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t src = ((b * H + h) * T + t) * hs;
        const float g = gates[h];
        for (int64_t d = 0; d < hs; ++d) {
          row[h * hs + d] = g * dq[src + d];
          row[C + h * hs + d] = g * dk[src + d];
          row[2 * C + h * hs + d] = g * dv[src + d];
        }
      }
    }
  });
}

// y [B,T,C], o [B,H,T,hs], gates [H]
void merge_heads(float* y, const float* o, const float* gates, int64_t B, int64_t T, int64_t H,
                 int64_t hs) {
  const int64_t C = H * hs;
  parallel_chunks(B * T, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, t = r % T;
      for (int64_t h = 0; h < H; ++h) {
        const float* src = o + ((b * H + h) * T + t) * hs;
        for (int64_t d = 0; d < hs; ++d) y[r * C + h * hs + d] = gates[h] * src[d];
      }
    }
  });
}

// Forward: y[r*C + h*hs + d] = gates[h] * src[d]. The gate is left out on purpose: the engine
// feeds this ungated gradient to the attention backward, so its head score Σ dy∘o is ∂L/∂ξ_h
// even when ξ_h = 0, and scales dq/dk/dv by ξ_h afterwards (the backward is linear in dout).
void merge_heads_backward(float* dout_heads, const float* dy, int64_t B, int64_t T, int64_t H,
                          int64_t hs) {
  const int64_t C = H * hs;
  parallel_chunks(B * T, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, t = r % T;
      for (int64_t h = 0; h < H; ++h) {
        float* dst = dout_heads + ((b * H + h) * T + t) * hs;
        for (int64_t d = 0; d < hs; ++d) dst[d] = dy[r * C + h * hs + d];
      }
    }
  });
}

}  // namespace cpu
}  // namespace hg
