#include "cpu/adamw.h"

#include <cmath>
#include <vector>

#include "core/thread_pool.h"

namespace hg {
namespace cpu {
namespace {

constexpr int64_t kChunk = 1 << 15;

struct Chunk {
  int64_t begin, end;
  bool decay;
};

// The spans cut into chunks of at most kChunk parameters: the unit of parallel work, fixed by
// the spans alone so the reduction order never depends on the thread count.
std::vector<Chunk> chunks_of(const ParamSpan* spans, int64_t nspans) {
  std::vector<Chunk> out;
  for (int64_t s = 0; s < nspans; ++s) {
    for (int64_t i = 0; i < spans[s].size; i += kChunk) {
      const int64_t n = spans[s].size - i < kChunk ? spans[s].size - i : kChunk;
      out.push_back({spans[s].offset + i, spans[s].offset + i + n, spans[s].decay});
    }
  }
  return out;
}

}  // namespace

double sum_squares(const float* grads, const ParamSpan* spans, int64_t nspans) {
  const std::vector<Chunk> chunks = chunks_of(spans, nspans);
  std::vector<double> partial(chunks.size(), 0.0);
  parallel_for(static_cast<int64_t>(chunks.size()), [&](int64_t c) {
    double s = 0.0;
    for (int64_t i = chunks[c].begin; i < chunks[c].end; ++i) s += static_cast<double>(grads[i]) * grads[i];
    partial[c] = s;
  });
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

// params/grads/m/v: flat [numParams]; only the spans are touched.
void adamw(float* params, const float* grads, float* m, float* v, const ParamSpan* spans,
           int64_t nspans, const AdamWParams& hp) {
  const std::vector<Chunk> chunks = chunks_of(spans, nspans);
  const float bc1 = 1.f - static_cast<float>(std::pow(static_cast<double>(hp.beta1), hp.t));
  const float bc2 = 1.f - static_cast<float>(std::pow(static_cast<double>(hp.beta2), hp.t));
  parallel_for(static_cast<int64_t>(chunks.size()), [&](int64_t c) {
    const float wd = chunks[c].decay ? hp.weight_decay : 0.f;
    for (int64_t i = chunks[c].begin; i < chunks[c].end; ++i) {
      const float g = grads[i] * hp.grad_scale;
      m[i] = hp.beta1 * m[i] + (1.f - hp.beta1) * g;
      v[i] = hp.beta2 * v[i] + (1.f - hp.beta2) * g * g;
      const float mhat = m[i] / bc1, vhat = v[i] / bc2;
      params[i] -= hp.lr * (mhat / (std::sqrt(vhat) + hp.eps) + wd * params[i]);
    }
  });
}

}  // namespace cpu
}  // namespace hg
