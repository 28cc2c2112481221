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

// Elements over all chunks (the work estimate parallel_for takes).
int64_t total_elements(const std::vector<Chunk>& chunks) {
  int64_t n = 0;
  for (const Chunk& c : chunks) n += c.end - c.begin;
  return n;
}

}  // namespace

double sum_squares(const float* grads, const ParamSpan* spans, int64_t nspans) {
  const std::vector<Chunk> chunks = chunks_of(spans, nspans);
  std::vector<double> partial(chunks.size(), 0.0);
  parallel_for(static_cast<int64_t>(chunks.size()), [&](int64_t c) {
    // eight running sums, one per lane (vectorises without reassociation), added in order
    double lane[8] = {};
    int64_t i = chunks[c].begin;
    for (; i + 8 <= chunks[c].end; i += 8)
      for (int j = 0; j < 8; ++j) lane[j] += static_cast<double>(grads[i + j]) * grads[i + j];
    double s = 0.0;
    for (; i < chunks[c].end; ++i) s += static_cast<double>(grads[i]) * grads[i];
    for (double l : lane) s += l;
    partial[c] = s;
  }, 2 * total_elements(chunks));
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

namespace {

// One contiguous run: p, g, m, v [n]. Hyper-parameters are passed by value so that stores to
// m and v cannot alias them (which would block vectorisation).
void adamw_run(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
               int64_t n, float lr, float beta1, float beta2, float eps, float wd, float grad_scale,
               float bc1, float bc2) {
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i] * grad_scale;
    m[i] = beta1 * m[i] + (1.f - beta1) * gi;
    v[i] = beta2 * v[i] + (1.f - beta2) * gi * gi;
    const float mhat = m[i] / bc1, vhat = v[i] / bc2;
    p[i] -= lr * (mhat / (std::sqrt(vhat) + eps) + wd * p[i]);
  }
}

}  // namespace

// params/grads/m/v: flat [numParams]; only the spans are touched.
void adamw(float* params, const float* grads, float* m, float* v, const ParamSpan* spans,
           int64_t nspans, const AdamWParams& hp) {
  const std::vector<Chunk> chunks = chunks_of(spans, nspans);
  const float bc1 = 1.f - static_cast<float>(std::pow(static_cast<double>(hp.beta1), hp.t));
  const float bc2 = 1.f - static_cast<float>(std::pow(static_cast<double>(hp.beta2), hp.t));
  parallel_for(static_cast<int64_t>(chunks.size()), [&](int64_t c) {
    const int64_t b = chunks[c].begin;
    adamw_run(params + b, grads + b, m + b, v + b, chunks[c].end - b, hp.lr, hp.beta1, hp.beta2, hp.eps,
              chunks[c].decay ? hp.weight_decay : 0.f, hp.grad_scale, bc1, bc2);
  }, 10 * total_elements(chunks));
}

}  // namespace cpu
}  // namespace hg
