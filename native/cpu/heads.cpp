#include "cpu/heads.h"

#include "cpu/parallel.h"

namespace hg {
namespace cpu {
namespace {

// f(r, h, m) for every token row r = b·T + t of [B,T] and every head h, where
// m = ((b·H + h)·T + t)·hs is where that row's head h starts in the head-major [B,H,T,hs]
// layout. The four functions below move data along this one index map, in either direction.
template <class F>
void for_each_row_head(int64_t B, int64_t T, int64_t H, int64_t hs, F f) {
  parallel_chunks(B * T, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / T, t = r % T;
      for (int64_t h = 0; h < H; ++h) f(r, h, ((b * H + h) * T + t) * hs);
    }
  }, H * hs);
}

}  // namespace

// Head-major offset of row (b, t) of head h in a [B, NH, T, hs] tensor.
inline int64_t head_offset(int64_t r, int64_t h, int64_t NH, int64_t T, int64_t hs) {
  return (((r / T) * NH + h) * T + r % T) * hs;
}

// q [B,H,T,hs], k,v [B,KV,T,hs], qkv [B,T,QKV]
void split_heads(float* q, float* k, float* v, const float* qkv, int64_t B, int64_t T, int64_t H,
                 int64_t KV, int64_t hs) {
  const int64_t QKV = (H + 2 * KV) * hs;
  for_each_row_head(B, T, H, hs, [&](int64_t r, int64_t h, int64_t m) {
    const float* src = qkv + r * QKV + h * hs;  // head h's columns of the Q block
    for (int64_t d = 0; d < hs; ++d) q[m + d] = src[d];
    if (h >= KV) return;
    const int64_t mk = head_offset(r, h, KV, T, hs);
    const float* ks = qkv + r * QKV + (H + h) * hs;  // K block at H·hs, V block at (H+KV)·hs
    const float* vs = ks + KV * hs;
    for (int64_t d = 0; d < hs; ++d) {
      k[mk + d] = ks[d];
      v[mk + d] = vs[d];
    }
  });
}

// Forward: q[m + d] = src[d] (and k, v), followed by attention whose input gradients the engine
// got from an ungated dout; for multi-head attention the gate multiplies them here.
void split_heads_backward(float* dqkv, const float* dq, const float* dk, const float* dv,
                          const float* gates, int64_t B, int64_t T, int64_t H, int64_t KV,
                          int64_t hs) {
  const int64_t QKV = (H + 2 * KV) * hs;
  for_each_row_head(B, T, H, hs, [&](int64_t r, int64_t h, int64_t m) {
    float* dst = dqkv + r * QKV + h * hs;
    const float g = gates ? gates[h] : 1.f;
    for (int64_t d = 0; d < hs; ++d) dst[d] = g * dq[m + d];
    if (h >= KV) return;
    const int64_t mk = head_offset(r, h, KV, T, hs);
    float* dks = dqkv + r * QKV + (H + h) * hs;
    float* dvs = dks + KV * hs;
    for (int64_t d = 0; d < hs; ++d) {
      dks[d] = g * dk[mk + d];
      dvs[d] = g * dv[mk + d];
    }
  });
}

// y [B,T,C], o [B,H,T,hs], gates [H]
void merge_heads(float* y, const float* o, const float* gates, int64_t B, int64_t T, int64_t H,
                 int64_t hs) {
  const int64_t C = H * hs;
  for_each_row_head(B, T, H, hs, [&](int64_t r, int64_t h, int64_t m) {
    float* dst = y + r * C + h * hs;
    for (int64_t d = 0; d < hs; ++d) dst[d] = gates[h] * o[m + d];
  });
}

// Forward: dst[d] = gates[h] * o[m + d], with dst = y + r*C + h*hs. The gate is left out on
// purpose: the engine feeds this ungated gradient to the attention backward, so its head score
// Σ dy∘o is ∂L/∂ξ_h even when ξ_h = 0, and scales dq/dk/dv by ξ_h afterwards (the backward is
// linear in dout).
void merge_heads_backward(float* dout_heads, const float* dy, int64_t B, int64_t T, int64_t H,
                          int64_t hs) {
  const int64_t C = H * hs;
  for_each_row_head(B, T, H, hs, [&](int64_t r, int64_t h, int64_t m) {
    const float* src = dy + r * C + h * hs;
    for (int64_t d = 0; d < hs; ++d) dout_heads[m + d] = src[d];
  });
}

}  // namespace cpu
}  // namespace hg
