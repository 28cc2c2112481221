#include "cpu/softcap.h"

#include <cmath>

#include "cpu/parallel.h"

namespace hg {
namespace cpu {

namespace {
constexpr int64_t kGrain = 1 << 14;
}

// std::tanh here, not a fast approximation: the capped logits are the model's output (and the
// softmax that follows amplifies an absolute error by nothing, but the logits are returned).
void softcap_forward(float* x, float* dtanh, int64_t n, float cap) {
  const float inv = 1.f / cap;
  parallel_chunks(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const float t = std::tanh(x[i] * inv);
      x[i] = cap * t;
      if (dtanh) dtanh[i] = 1.f - t * t;
    }
  }, 20);
}

void softcap_backward(float* dx, const float* dtanh, int64_t n) {
  parallel_chunks(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) dx[i] *= dtanh[i];
  }, 1);
}

void scale(float* x, float s, int64_t n) {
  parallel_chunks(n, kGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) x[i] *= s;
  }, 1);
}

}  // namespace cpu
}  // namespace hg
