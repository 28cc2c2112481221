// Softmax cross-entropy, fused: logits become probabilities in place (the backward turns them
// into dlogits in place), losses[r] = -log p[r, target] (0 where target < 0).
//   probs_inout : [N,V]    losses, weights : [N]    targets : [N] (-1 = none)
// Forward: one block per row; the max and the Σ exp are block reductions in a fixed order, the
// sum in double as on the CPU (V can be 50k).
//   grid (N), kThreads threads
#include <string>

#include "core/errors.h"
#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/grid_stride.cuh"
#include "cuda/reduce.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr int kThreads = 512;

__global__ void __launch_bounds__(kThreads)
    crossentropy_forward_kernel(float* __restrict__ probs, float* __restrict__ losses,
                                const int32_t* __restrict__ targets, int64_t V) {
  __shared__ float max_scratch[32];
  __shared__ double sum_scratch[32];
  float* p = probs + static_cast<int64_t>(blockIdx.x) * V;
  const int32_t t = targets[blockIdx.x];
  const float xt = t >= 0 ? p[t] : 0.f;  // read before any thread overwrites the row

  float mx = -INFINITY;
  for (int64_t v = threadIdx.x; v < V; v += kThreads) mx = fmaxf(mx, p[v]);
  mx = block_reduce_max(mx, max_scratch);  // synchronises: every xt read is done
  double sum = 0.0;
  for (int64_t v = threadIdx.x; v < V; v += kThreads) {
    const float e = expf(p[v] - mx);
    p[v] = e;
    sum += e;
  }
  sum = block_reduce_sum(sum, sum_scratch);
  const float inv = static_cast<float>(1.0 / sum);
  // -log softmax(x)[t] = log Σ exp(x - mx) - (x_t - mx): finite even where p[t] underflows
  if (threadIdx.x == 0) losses[blockIdx.x] = t >= 0 ? static_cast<float>(log(sum) - (static_cast<double>(xt) - mx)) : 0.f;
  for (int64_t v = threadIdx.x; v < V; v += kThreads) p[v] *= inv;  // each thread rescales its own elements
}

// Forward: losses[r] = -log p[t] with p = softmax(logits row r); L = Σ_r weights[r]·losses[r].
// ∂L/∂logit_v = weights[r] · (p_v − [v == t]).
__global__ void crossentropy_backward_kernel(float* __restrict__ probs, const int32_t* __restrict__ targets,
                                             const float* __restrict__ weights, int64_t N, int64_t V) {
  HG_GRID_STRIDE(i, N * V) {
    const int64_t r = i / V, v = i % V;
    const int32_t t = targets[r];
    const float w = t >= 0 ? weights[r] : 0.f;
    probs[i] = probs[i] * w - (v == t ? w : 0.f);
  }
}

}  // namespace

void softmax_crossentropy_forward(float* probs_inout, float* losses, const int32_t* targets, int64_t N, int64_t V) {
  if (N == 0) return;
  if (N > INT32_MAX) throw_range("cuda softmax_crossentropy_forward: more than 2^31 - 1 rows");
  crossentropy_forward_kernel<<<static_cast<unsigned>(N), kThreads>>>(probs_inout, losses, targets, V);
  HG_CUDA_CHECK(cudaGetLastError());
}

void softmax_crossentropy_backward(float* probs_inout, const int32_t* targets, const float* weights, int64_t N,
                                   int64_t V) {
  if (N * V == 0) return;
  crossentropy_backward_kernel<<<elementwise_grid(N * V, kElementwiseThreads), kElementwiseThreads>>>(
      probs_inout, targets, weights, N, V);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
