#include "cpu/attention_decode.h"

#include <cmath>
#include <vector>

#include "core/thread_pool.h"

namespace hg {
namespace cpu {
namespace {

// kcache/vcache [KV,P,hs] rows pos..pos+n-1 <- the K and V blocks of qkv [n,QKV]
void append_to_cache(float* kcache, float* vcache, const float* qkv, int64_t n, int64_t pos,
                     int64_t H, int64_t KV, int64_t P, int64_t hs) {
  const int64_t QKV = (H + 2 * KV) * hs;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t h = 0; h < KV; ++h) {
      for (int64_t d = 0; d < hs; ++d) {
        kcache[(h * P + pos + i) * hs + d] = qkv[i * QKV + (H + h) * hs + d];
        vcache[(h * P + pos + i) * hs + d] = qkv[i * QKV + (H + KV + h) * hs + d];
      }
    }
  }
}

}  // namespace

// out [n,C], qkv [n,QKV], kcache/vcache [KV,P,hs], gates [H]
void attention_decode(float* out, const float* qkv, float* kcache, float* vcache,
                      const float* gates, int64_t n, int64_t pos, int64_t H, int64_t KV, int64_t P,
                      int64_t hs, int64_t window, float scale_in, float softcap) {
  append_to_cache(kcache, vcache, qkv, n, pos, H, KV, P, hs);
  const int64_t C = H * hs, QKV = (H + 2 * KV) * hs, group = H / KV;
  const float scale = scale_in != 0.f ? scale_in : 1.f / std::sqrt(static_cast<float>(hs));
  parallel_for(n * H, [&](int64_t item) {
    const int64_t i = item / H, h = item % H;
    // keys j0..pos+i: the whole prefix, or the sliding window's part of it
    const int64_t j0 = window > 0 ? std::max<int64_t>(0, pos + i + 1 - window) : 0;
    const int64_t keys = pos + i + 1 - j0;
    const float* q = qkv + i * QKV + h * hs;
    const float* K = kcache + (h / group) * P * hs + j0 * hs;
    const float* V = vcache + (h / group) * P * hs + j0 * hs;
    thread_local std::vector<float> s;
    s.resize(static_cast<size_t>(keys));
    float mx = -INFINITY;
    for (int64_t j = 0; j < keys; ++j) {
      float dot = 0.f;
      for (int64_t d = 0; d < hs; ++d) dot += q[d] * K[j * hs + d];
      s[j] = dot * scale;
      if (softcap > 0) s[j] = softcap * std::tanh(s[j] / softcap);
      mx = s[j] > mx ? s[j] : mx;
    }
    float sum = 0.f;
    for (int64_t j = 0; j < keys; ++j) {
      s[j] = std::exp(s[j] - mx);
      sum += s[j];
    }
    float* o = out + i * C + h * hs;
    for (int64_t d = 0; d < hs; ++d) o[d] = 0.f;
    for (int64_t j = 0; j < keys; ++j)
      for (int64_t d = 0; d < hs; ++d) o[d] += s[j] * V[j * hs + d];
    const float norm = gates[h] / sum;
    for (int64_t d = 0; d < hs; ++d) o[d] *= norm;
  }, n * H * (pos + n) * hs / 8);
}

}  // namespace cpu
}  // namespace hg
