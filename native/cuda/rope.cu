// Rotary position embedding in place on the q and k heads of token-major rows (as cpu/rope.cpp):
//   x [N, stride]: the first `heads` blocks of hs columns of each row; row r at position
//   pos0 + r % T; cos, sin [P, hs/2]. Pair (i, i + hs/2) of a head rotates by angle p·f_i:
//     x'[i] = x[i]·cos − x[i+hs/2]·sin,   x'[i+hs/2] = x[i+hs/2]·cos + x[i]·sin
//   The backward applies the transpose (sin negated) to the gradient rows.
// One thread per pair; grid-stride.
#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/grid_stride.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr int kThreads = kElementwiseThreads;

__global__ void rope_kernel(float* __restrict__ x, const float* __restrict__ cos, const float* __restrict__ sin,
                            int64_t N, int64_t T, int64_t pos0, int64_t heads, int64_t stride, int64_t half, float sign,
                            int64_t n) {
  HG_GRID_STRIDE(e, n) {  // e = (row, head, i)
    const int64_t i = e % half, h = (e / half) % heads, r = e / (half * heads);
    const int64_t p = pos0 + r % T;
    float* a = x + r * stride + h * 2 * half;
    const float c = cos[p * half + i], s = sign * sin[p * half + i];
    const float ai = a[i], bi = a[i + half];
    a[i] = ai * c - bi * s;
    a[i + half] = bi * c + ai * s;
  }
}

void launch(float* x, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0, int64_t heads,
            int64_t stride, int64_t hs, float sign) {
  const int64_t n = N * heads * (hs / 2);
  if (n == 0) return;
  rope_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(x, cos, sin, N, T, pos0, heads, stride, hs / 2, sign, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void rope_forward(float* x, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0, int64_t heads,
                  int64_t stride, int64_t hs) {
  launch(x, cos, sin, N, T, pos0, heads, stride, hs, 1.f);
}

void rope_backward(float* dx, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0, int64_t heads,
                   int64_t stride, int64_t hs) {
  launch(dx, cos, sin, N, T, pos0, heads, stride, hs, -1.f);
}

}  // namespace cuda
}  // namespace hg
