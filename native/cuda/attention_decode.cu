// Attention for generation with a KV cache (core/ops.h attention_decode): n new tokens at
// positions pos..pos+n-1 append their keys/values to the cache, then query i attends causally
// over cache positions 0..pos+i.
//   qkv : [n,QKV] (QKV = (H + 2·KV)·hs)    kcache, vcache : [KV,P,hs]    out : [n,C] (head h in
//   columns h·hs..)    gates : [H]. Query head h reads k/v head h / (H/KV) (grouped-query attention).
// Attend: one block per (token, head). Keys are taken kThreads at a time (one score per thread),
// with an online softmax across chunks, so shared memory stays fixed whatever the position;
// thread d accumulates output columns d, d + kThreads, ...
//   grid (n·H), kThreads threads
#include <cmath>
#include <string>

#include "core/attention.h"
#include "core/errors.h"
#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/grid_stride.cuh"
#include "cuda/reduce.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kColsPerThread = (static_cast<int>(kMaxHeadDim) + kThreads - 1) / kThreads;

// cache rows pos..pos+n-1 <- the K and V blocks of qkv
__global__ void append_kernel(float* __restrict__ kcache, float* __restrict__ vcache, const float* __restrict__ qkv,
                              int64_t n, int64_t pos, int64_t H, int64_t KV, int64_t P, int64_t hs) {
  const int64_t C = H * hs, KC = KV * hs, QKV = C + 2 * KC;
  HG_GRID_STRIDE(e, n * KC) {
    const int64_t i = e / KC, col = e % KC, h = col / hs, d = col % hs;
    kcache[(h * P + pos + i) * hs + d] = qkv[i * QKV + C + col];
    vcache[(h * P + pos + i) * hs + d] = qkv[i * QKV + C + KC + col];
  }
}

__global__ void __launch_bounds__(kThreads)
    attend_kernel(float* __restrict__ out, const float* __restrict__ qkv, const float* __restrict__ kcache,
                  const float* __restrict__ vcache, const float* __restrict__ gates, int64_t pos, int64_t H,
                  int64_t KV, int64_t P, int64_t hs, float scale) {
  __shared__ float q[kMaxHeadDim];
  __shared__ float p[kThreads];
  __shared__ float reduce_scratch[32];
  const int64_t C = H * hs, QKV = C + 2 * KV * hs, i = blockIdx.x / H, h = blockIdx.x % H;
  const int64_t keys = pos + i + 1;
  const float* K = kcache + (h / (H / KV)) * P * hs;
  const float* V = vcache + (h / (H / KV)) * P * hs;
  for (int64_t d = threadIdx.x; d < hs; d += kThreads) q[d] = qkv[i * QKV + h * hs + d];
  __syncthreads();

  float o[kColsPerThread] = {};
  float m = -INFINITY, l = 0.f;  // running max and Σ exp(s - m)
  for (int64_t j0 = 0; j0 < keys; j0 += kThreads) {
    const int64_t j = j0 + threadIdx.x;
    float s = -INFINITY;
    if (j < keys) {
      float dot = 0.f;
      for (int64_t d = 0; d < hs; ++d) dot += q[d] * K[j * hs + d];
      s = dot * scale;
    }
    const float m_new = fmaxf(m, block_reduce_max(s, reduce_scratch));  // finite: key j0 is visible
    const float correction = expf(m - m_new);                          // 0 on the first chunk
    const float pj = j < keys ? expf(s - m_new) : 0.f;
    p[threadIdx.x] = pj;
    l = l * correction + block_reduce_sum(pj, reduce_scratch);  // its barrier publishes p[]
    const int64_t count = keys - j0 < kThreads ? keys - j0 : kThreads;
#pragma unroll
    for (int u = 0; u < kColsPerThread; ++u) {
      const int64_t d = threadIdx.x + u * kThreads;
      if (d >= hs) break;
      float acc = o[u] * correction;
      for (int64_t jj = 0; jj < count; ++jj) acc += p[jj] * V[(j0 + jj) * hs + d];
      o[u] = acc;
    }
    m = m_new;
    __syncthreads();  // p[] is rewritten by the next chunk
  }
  const float norm = gates[h] / l;
#pragma unroll
  for (int u = 0; u < kColsPerThread; ++u) {
    const int64_t d = threadIdx.x + u * kThreads;
    if (d < hs) out[i * C + h * hs + d] = o[u] * norm;
  }
}

}  // namespace

void attention_decode(float* out, const float* qkv, float* kcache, float* vcache, const float* gates, int64_t n,
                      int64_t pos, int64_t H, int64_t KV, int64_t P, int64_t hs, int64_t window, float scale_in,
                      float softcap) {
  // not written without a GPU to test it; the engine refuses slidingWindow on CUDA before this
  if (window != 0) throw_range("cuda attention_decode: sliding-window attention is not implemented on CUDA");
  if (softcap != 0.f) throw_range("cuda attention_decode: attention soft-capping is not implemented on CUDA");
  if (n == 0) return;
  if (KV < 1 || H % KV != 0)
    throw_range("cuda attention_decode: kvHeads must divide heads (" + std::to_string(H) + "), got " + std::to_string(KV));
  if (hs > kMaxHeadDim) throw_range("cuda attention_decode: head size must be <= " + std::to_string(kMaxHeadDim));
  if (pos < 0 || pos + n > P)
    throw_range("cuda attention_decode: positions " + std::to_string(pos) + ".." + std::to_string(pos + n - 1) +
                " do not fit a cache of " + std::to_string(P));
  append_kernel<<<elementwise_grid(n * KV * hs, kElementwiseThreads), kElementwiseThreads>>>(kcache, vcache, qkv,
                                                                                           n, pos, H, KV, P, hs);
  HG_CUDA_CHECK(cudaGetLastError());
  const float scale = scale_in != 0.f ? scale_in : 1.f / std::sqrt(static_cast<float>(hs));
  attend_kernel<<<static_cast<unsigned>(n * H), kThreads>>>(out, qkv, kcache, vcache, gates, pos, H, KV, P, hs,
                                                            scale);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
