#include "cpu/crossentropy.h"

#include <cmath>

#include "cpu/parallel.h"

namespace hg {
namespace cpu {

// probs_inout [N,V], losses [N], targets [N]
void softmax_crossentropy_forward(float* probs_inout, float* losses, const int32_t* targets,
                                  int64_t N, int64_t V) {
  parallel_chunks(N, 1, [&](int64_t r, int64_t) {
    float* p = probs_inout + r * V;
    const int32_t t = targets[r];
    const float xt = t >= 0 ? p[t] : 0.f;
    float mx = p[0];
    for (int64_t v = 1; v < V; ++v) mx = p[v] > mx ? p[v] : mx;
    double sum = 0.0;  // V can be 50k: a double sum keeps log(sum) accurate
    for (int64_t v = 0; v < V; ++v) {
      p[v] = std::exp(p[v] - mx);
      sum += p[v];
    }
    const float inv = static_cast<float>(1.0 / sum);
    // -log softmax(x)[t] = log Σ exp(x - mx) - (x_t - mx): finite even where p[t] underflows
    losses[r] = t >= 0 ? static_cast<float>(std::log(sum) - (static_cast<double>(xt) - mx)) : 0.f;
    for (int64_t v = 0; v < V; ++v) p[v] *= inv;
  }, 4 * V);
}

// Forward: losses[r] = -log p[t] with p = softmax(logits row r); L = Σ_r weights[r]·losses[r].
// ∂L/∂logit_v = weights[r] · (p_v − [v == t]).
void softmax_crossentropy_backward(float* probs_inout, const int32_t* targets, const float* weights,
                                   int64_t N, int64_t V) {
  parallel_chunks(N, 1, [&](int64_t r, int64_t) {
    float* p = probs_inout + r * V;
    const int32_t t = targets[r];
    const float w = t >= 0 ? weights[r] : 0.f;
    for (int64_t v = 0; v < V; ++v) p[v] *= w;
    if (t >= 0) p[t] -= w;
  }, 2 * V);
}

}  // namespace cpu
}  // namespace hg
