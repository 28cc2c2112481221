// LayerNorm over the last dimension, eps 1e-5 (as cpu/layernorm.cpp).
//   inp, out, dout, dinp : [N,C]    w, b, dw, db : [C]    mean, rstd : [N]
// Forward and the input gradient: one warp per row (two-pass variance, like the CPU, so a large
// mean does not cancel the variance away). Weight gradients: fixed-order column reductions
// (cuda/column_reduce.cuh), no atomics.
//   grid (⌈N/kRowsPerBlock⌉), kRowsPerBlock warps
#include "cuda/column_reduce.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/reduce.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr float kEps = 1e-5f;
constexpr int kRowsPerBlock = 8;

__global__ void __launch_bounds__(32 * kRowsPerBlock)
    layernorm_forward_kernel(float* __restrict__ out, float* __restrict__ mean, float* __restrict__ rstd,
                             const float* __restrict__ inp, const float* __restrict__ w,
                             const float* __restrict__ b, int64_t N, int64_t C) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= N) return;  // whole warps leave together: the shuffles below see full warps
  const float* x = inp + r * C;
  float s = 0.f;
  for (int64_t c = lane; c < C; c += 32) s += x[c];
  const float m = warp_reduce_sum(s) / C;
  float v = 0.f;
  for (int64_t c = lane; c < C; c += 32) v += (x[c] - m) * (x[c] - m);
  const float rs = 1.f / sqrtf(warp_reduce_sum(v) / C + kEps);
  float* o = out + r * C;
  for (int64_t c = lane; c < C; c += 32) o[c] = (x[c] - m) * rs * w[c] + b[c];
  if (lane == 0) {
    mean[r] = m;
    rstd[r] = rs;
  }
}

// Forward: o[c] = (x[c] - m) * rs * w[c] + b[c], with m, rs functions of the whole row x.
// dinp += rs · (dnorm − mean(dnorm) − norm · mean(dnorm · norm)),  dnorm = dout · w
__global__ void __launch_bounds__(32 * kRowsPerBlock)
    layernorm_backward_kernel(float* __restrict__ dinp, const float* __restrict__ dout,
                              const float* __restrict__ inp, const float* __restrict__ w,
                              const float* __restrict__ mean, const float* __restrict__ rstd, int64_t N, int64_t C) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= N) return;
  const float* x = inp + r * C;
  const float* d = dout + r * C;
  const float m = mean[r], rs = rstd[r];
  float dnorm_sum = 0.f, dnorm_norm_sum = 0.f;
  for (int64_t c = lane; c < C; c += 32) {
    const float dnorm = d[c] * w[c];
    dnorm_sum += dnorm;
    dnorm_norm_sum += dnorm * (x[c] - m) * rs;
  }
  const float dnorm_mean = warp_reduce_sum(dnorm_sum) / C;
  const float dnorm_norm_mean = warp_reduce_sum(dnorm_norm_sum) / C;
  float* dx = dinp + r * C;
  for (int64_t c = lane; c < C; c += 32) {
    const float norm = (x[c] - m) * rs;
    dx[c] += (d[c] * w[c] - dnorm_mean - norm * dnorm_norm_mean) * rs;
  }
}

// Forward: o[c] = norm[c] * w[c] + b[c]  ->  dw[c] += Σ_r dout[r,c] · norm[r,c]
struct WeightGrad {
  const float *dout, *inp, *mean, *rstd;
  int64_t C;
  __device__ float operator()(int64_t r, int64_t c) const {
    return dout[r * C + c] * (inp[r * C + c] - mean[r]) * rstd[r];
  }
};

unsigned row_blocks(int64_t N) { return static_cast<unsigned>((N + kRowsPerBlock - 1) / kRowsPerBlock); }

}  // namespace

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b,
                       int64_t N, int64_t C) {
  if (N == 0) return;
  layernorm_forward_kernel<<<row_blocks(N), 32 * kRowsPerBlock>>>(out, mean, rstd, inp, w, b, N, C);
  HG_CUDA_CHECK(cudaGetLastError());
}

void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                        const float* mean, const float* rstd, int64_t N, int64_t C) {
  if (N == 0) return;
  layernorm_backward_kernel<<<row_blocks(N), 32 * kRowsPerBlock>>>(dinp, dout, inp, w, mean, rstd, N, C);
  HG_CUDA_CHECK(cudaGetLastError());
  if (dw) column_reduce_add(dw, N, C, WeightGrad{dout, inp, mean, rstd, C});  // null: scores-only backward
  if (db) column_sum_add(db, dout, N, C);
}

}  // namespace cuda
}  // namespace hg
