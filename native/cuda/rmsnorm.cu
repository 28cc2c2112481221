// RMSNorm over the last dimension (as cpu/rmsnorm.cpp): out = w ∘ x / sqrt(mean(x²) + eps).
//   inp, out, dout, dinp : [N,C]    w, dw : [C]    rstd : [N]
// Forward and the input gradient: one warp per row. Weight gradient: a fixed-order column
// reduction (cuda/column_reduce.cuh), no atomics.
//   grid (⌈N/kRowsPerBlock⌉), kRowsPerBlock warps
#include "cuda/column_reduce.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/reduce.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr int kRowsPerBlock = 8;

__global__ void __launch_bounds__(32 * kRowsPerBlock)
    rmsnorm_forward_kernel(float* __restrict__ out, float* __restrict__ rstd, const float* __restrict__ inp,
                           const float* __restrict__ w, int64_t N, int64_t C, float eps) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= N) return;  // whole warps leave together
  const float* x = inp + r * C;
  float ss = 0.f;
  for (int64_t c = lane; c < C; c += 32) ss += x[c] * x[c];
  const float rs = 1.f / sqrtf(warp_reduce_sum(ss) / C + eps);
  float* o = out + r * C;
  for (int64_t c = lane; c < C; c += 32) o[c] = x[c] * rs * w[c];
  if (lane == 0) rstd[r] = rs;
}

// Forward: o[c] = x[c] · s · w[c], s = (Σ x²/C + eps)^(-1/2):
//   dx[c] += s · w[c] d[c] − s³ x[c] / C · Σ_k w[k] d[k] x[k]
__global__ void __launch_bounds__(32 * kRowsPerBlock)
    rmsnorm_backward_kernel(float* __restrict__ dinp, const float* __restrict__ dout, const float* __restrict__ inp,
                            const float* __restrict__ w, const float* __restrict__ rstd, int64_t N, int64_t C) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (r >= N) return;
  const float* x = inp + r * C;
  const float* d = dout + r * C;
  const float s = rstd[r];
  float dot = 0.f;
  for (int64_t c = lane; c < C; c += 32) dot += w[c] * d[c] * x[c];
  const float k = s * s * s * warp_reduce_sum(dot) / C;
  float* dx = dinp + r * C;
  for (int64_t c = lane; c < C; c += 32) dx[c] += s * w[c] * d[c] - k * x[c];
}

// Forward: o[c] = x[c] · s · w[c]  ->  dw[c] += Σ_r dout[r,c] · x[r,c] · s_r
struct WeightGrad {
  const float *dout, *inp, *rstd;
  int64_t C;
  __device__ float operator()(int64_t r, int64_t c) const { return dout[r * C + c] * inp[r * C + c] * rstd[r]; }
};

unsigned row_blocks(int64_t N) { return static_cast<unsigned>((N + kRowsPerBlock - 1) / kRowsPerBlock); }

}  // namespace

void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C, float eps,
                     float w_offset) {
  // not written without a GPU to test it; the engine refuses normWeightOffset on CUDA before this
  if (w_offset != 0.f) throw_range("cuda rmsnorm: a weight offset (normWeightOffset) is not implemented on CUDA");
  if (N == 0) return;
  rmsnorm_forward_kernel<<<row_blocks(N), 32 * kRowsPerBlock>>>(out, rstd, inp, w, N, C, eps);
  HG_CUDA_CHECK(cudaGetLastError());
}

void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, const float* rstd,
                      int64_t N, int64_t C, float w_offset) {
  if (w_offset != 0.f) throw_range("cuda rmsnorm: a weight offset (normWeightOffset) is not implemented on CUDA");
  if (N == 0) return;
  rmsnorm_backward_kernel<<<row_blocks(N), 32 * kRowsPerBlock>>>(dinp, dout, inp, w, rstd, N, C);
  HG_CUDA_CHECK(cudaGetLastError());
  if (dw) column_reduce_add(dw, N, C, WeightGrad{dout, inp, rstd, C});  // null: scores-only backward
}

}  // namespace cuda
}  // namespace hg
