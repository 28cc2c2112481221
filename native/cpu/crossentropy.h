// Softmax + cross-entropy over the vocabulary, per position, with per-token loss weights.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// logits [N,V] become probabilities in place; losses [N] = -log p[target] (0 where target < 0);
// targets [N] in [-1, V)
void softmax_crossentropy_forward(float* probs_inout, float* losses, const int32_t* targets,
                                  int64_t N, int64_t V);
// probs [N,V] become dlogits in place for L = Σ_t weights[t]·loss[t]; weights [N]
void softmax_crossentropy_backward(float* probs_inout, const int32_t* targets, const float* weights,
                                   int64_t N, int64_t V);
}  // namespace cpu
}  // namespace hg
