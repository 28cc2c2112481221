// Moving between the token-major rows of the linear layers and the head-major tensors of the
// attention, with the per-head gates ξ_h.
//   qkv, dqkv : [B,T,QKV], QKV = (H + 2·KV)·hs: H q heads, then KV k heads, then KV v heads
//   q, dq, o, dout_heads : [B,H,T,hs]    k, v, dk, dv : [B,KV,T,hs]    y, dy : [B,T,C]    gates : [H]
// One thread per head-major element (so writes to q/k/v/o coalesce); grid-stride.
#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/grid_stride.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr int kThreads = kElementwiseThreads;

// Element i = (b, h, t, d) of a [B,H,T,hs] tensor: its head h, and the offset of the same
// element in a token-major [B,T,width] tensor (row b·T + t, column h·hs + d).
struct HeadElement {
  int64_t h, offset;
};
struct HeadIndex {
  int64_t H, T, hs;
  __device__ HeadElement locate(int64_t i, int64_t width) const {
    const int64_t d = i % hs, t = (i / hs) % T, bh = i / (hs * T);
    const int64_t h = bh % H, b = bh / H;
    return {h, (b * T + t) * width + h * hs + d};
  }
};

// Element i of q [B,H,T,hs]; of head h < KV, the same (b, t, d) also moves k and v, whose
// head-major offset in [B,KV,T,hs] is kv_offset.
__device__ inline int64_t kv_offset(int64_t i, const HeadIndex& ix, int64_t KV, int64_t h) {
  const int64_t d = i % ix.hs, t = (i / ix.hs) % ix.T, b = i / (ix.hs * ix.T * ix.H);
  return ((b * KV + h) * ix.T + t) * ix.hs + d;
}

__global__ void split_heads_kernel(float* __restrict__ q, float* __restrict__ k, float* __restrict__ v,
                                   const float* __restrict__ qkv, HeadIndex ix, int64_t KV, int64_t n) {
  const int64_t C = ix.H * ix.hs, QKV = C + 2 * KV * ix.hs;
  HG_GRID_STRIDE(i, n) {
    const HeadElement e = ix.locate(i, QKV);
    q[i] = qkv[e.offset];
    if (e.h < KV) {
      const int64_t m = kv_offset(i, ix, KV, e.h);
      k[m] = qkv[e.offset + C];
      v[m] = qkv[e.offset + C + KV * ix.hs];
    }
  }
}

// Forward: q[i] = qkv[src] (and k, v); the gate multiplies the attention's input gradients here
// (the engine ran the attention backward on the ungated dout).
__global__ void split_heads_backward_kernel(float* __restrict__ dqkv, const float* __restrict__ dq,
                                            const float* __restrict__ dk, const float* __restrict__ dv,
                                            const float* __restrict__ gates, HeadIndex ix, int64_t KV,
                                            int64_t n) {
  const int64_t C = ix.H * ix.hs, QKV = C + 2 * KV * ix.hs;
  HG_GRID_STRIDE(i, n) {
    const HeadElement e = ix.locate(i, QKV);
    const int64_t dst = e.offset;
    const float g = gates ? gates[e.h] : 1.f;  // null: the attention backward applied the gates
    dqkv[dst] = g * dq[i];
    if (e.h < KV) {
      const int64_t m = kv_offset(i, ix, KV, e.h);
      dqkv[dst + C] = g * dk[m];
      dqkv[dst + C + KV * ix.hs] = g * dv[m];
    }
  }
}

__global__ void merge_heads_kernel(float* __restrict__ y, const float* __restrict__ o,
                                   const float* __restrict__ gates, HeadIndex ix, int64_t n) {
  HG_GRID_STRIDE(i, n) {
    const HeadElement e = ix.locate(i, ix.H * ix.hs);
    y[e.offset] = gates[e.h] * o[i];
  }
}

// Forward: y[e.offset] = gates[e.h] * o[i]. Ungated on purpose, as cpu/heads.cpp explains: the head
// score of the attention backward fed with this gradient is ∂L/∂ξ_h even when ξ_h = 0.
__global__ void merge_heads_backward_kernel(float* __restrict__ dout_heads, const float* __restrict__ dy,
                                            HeadIndex ix, int64_t n) {
  HG_GRID_STRIDE(i, n) {
    dout_heads[i] = dy[ix.locate(i, ix.H * ix.hs).offset];
  }
}

}  // namespace

void split_heads(float* q, float* k, float* v, const float* qkv, int64_t B, int64_t T, int64_t H, int64_t KV,
                 int64_t hs) {
  const int64_t n = B * H * T * hs;
  if (n == 0) return;
  split_heads_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(q, k, v, qkv, HeadIndex{H, T, hs}, KV, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

void split_heads_backward(float* dqkv, const float* dq, const float* dk, const float* dv, const float* gates,
                          int64_t B, int64_t T, int64_t H, int64_t KV, int64_t hs) {
  const int64_t n = B * H * T * hs;
  if (n == 0) return;
  split_heads_backward_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(dqkv, dq, dk, dv, gates,
                                                                          HeadIndex{H, T, hs}, KV, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

void merge_heads(float* y, const float* o, const float* gates, int64_t B, int64_t T, int64_t H, int64_t hs) {
  const int64_t n = B * H * T * hs;
  if (n == 0) return;
  merge_heads_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(y, o, gates, HeadIndex{H, T, hs}, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

void merge_heads_backward(float* dout_heads, const float* dy, int64_t B, int64_t T, int64_t H, int64_t hs) {
  const int64_t n = B * H * T * hs;
  if (n == 0) return;
  merge_heads_backward_kernel<<<elementwise_grid(n, kThreads), kThreads>>>(dout_heads, dy, HeadIndex{H, T, hs}, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
