// Elementwise kernels: residual add, GELU (tanh approximation) and its backward, SwiGLU.
//   out, a, b, inp, dout, dinp : [n]     grid-stride, elementwise_grid (cuda/launch.cuh)
//   SwiGLU: inp, dinp [N,2F] (rows [gate; up]), out, dout [N,F]
#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/grid_stride.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;

__global__ void residual_kernel(float* out, const float* a, const float* b, int64_t n) {
  HG_GRID_STRIDE(i, n) out[i] = a[i] + b[i];  // out may alias a (the decode loop adds in place)
}

__global__ void gelu_forward_kernel(float* __restrict__ out, const float* __restrict__ inp, int64_t n) {
  HG_GRID_STRIDE(i, n) {
    const float x = inp[i];
    out[i] = 0.5f * x * (1.f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
  }
}

// Forward: out[i] = 0.5f * x * (1.f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
// dinp may alias dout (the engine overwrites the gradient in place).
__global__ void gelu_backward_kernel(float* dinp, const float* __restrict__ inp, const float* dout, int64_t n) {
  HG_GRID_STRIDE(i, n) {
    const float x = inp[i];
    const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
    const float th = tanhf(u);
    const float du = kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
    dinp[i] = (0.5f * (1.f + th) + 0.5f * x * (1.f - th * th) * du) * dout[i];
  }
}

// out[r,i] = silu(g)·u, g = inp[r,i], u = inp[r,F+i]
__global__ void swiglu_forward_kernel(float* __restrict__ out, const float* __restrict__ inp, int64_t F, int64_t n) {
  HG_GRID_STRIDE(e, n) {
    const int64_t r = e / F, i = e % F;
    const float g = inp[r * 2 * F + i], u = inp[r * 2 * F + F + i];
    out[e] = g / (1.f + expf(-g)) * u;
  }
}

// Forward: o = g·σ(g)·u.  ∂o/∂u = g·σ(g);  ∂o/∂g = u·σ(g)·(1 + g·(1 − σ(g))).
__global__ void swiglu_backward_kernel(float* __restrict__ dinp, const float* __restrict__ inp,
                                       const float* __restrict__ dout, int64_t F, int64_t n) {
  HG_GRID_STRIDE(e, n) {
    const int64_t r = e / F, i = e % F;
    const float g = inp[r * 2 * F + i], u = inp[r * 2 * F + F + i], d = dout[e];
    const float sg = 1.f / (1.f + expf(-g));
    dinp[r * 2 * F + F + i] = d * g * sg;
    dinp[r * 2 * F + i] = d * u * sg * (1.f + g * (1.f - sg));
  }
}

constexpr int kThreads = kElementwiseThreads;

}  // namespace

void swiglu_forward(float* out, const float* inp, int64_t N, int64_t F) {
  const int64_t n = N * F;
  if (n == 0) return;
  swiglu_forward_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(out, inp, F, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

void swiglu_backward(float* dinp, const float* inp, const float* dout, int64_t N, int64_t F) {
  const int64_t n = N * F;
  if (n == 0) return;
  swiglu_backward_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(dinp, inp, dout, F, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

void residual_forward(float* out, const float* a, const float* b, int64_t n) {
  if (n == 0) return;
  residual_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(out, a, b, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

void gelu_forward(float* out, const float* inp, int64_t n) {
  if (n == 0) return;
  gelu_forward_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(out, inp, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n) {
  if (n == 0) return;
  gelu_backward_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(dinp, inp, dout, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
