// Token + position embeddings and their gradients.
//   out, dout : [B,T,C]    tokens : [B,T]    wte, dwte : [V,C]    wpe, dwpe : [P,C] or null (no learned
//   positions: rotary models)
//
// The wte gradient is a scatter (a token can occur many times). Instead of float atomics, whose
// rounding depends on timing, rows are bucketed by token on the host (the tokens are N int32s:
// a cheap copy and a stable sort), and one thread per (token, channel) adds its bucket's rows in
// row order. Deterministic, and O(N·C) work like the forward.
#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "core/errors.h"
#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/grid_stride.cuh"
#include "cuda/scratch.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr int kThreads = kElementwiseThreads;

__global__ void encoder_forward_kernel(float* __restrict__ out, const int32_t* __restrict__ tokens,
                                       const float* __restrict__ wte, const float* __restrict__ wpe, int64_t N,
                                       int64_t T, int64_t C) {
  HG_GRID_STRIDE(i, N * C) {
    const int64_t r = i / C, c = i % C;
    const float te = wte[static_cast<int64_t>(tokens[r]) * C + c];
    out[i] = wpe ? te + wpe[(r % T) * C + c] : te;
  }
}

// One bucket: every row whose token is `token`, as rows[begin..end) (ascending).
struct Bucket {
  int32_t token, begin, end;
};

// Forward: out[i] = wte[tokens[r]·C + c] + wpe[...].  grid (⌈C/kThreads⌉, buckets)
__global__ void wte_backward_kernel(float* __restrict__ dwte, const float* __restrict__ dout,
                                    const int32_t* __restrict__ rows, const Bucket* __restrict__ buckets, int64_t C) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const Bucket b = buckets[blockIdx.y];
  float s = 0.f;
  for (int32_t i = b.begin; i < b.end; ++i) s += dout[static_cast<int64_t>(rows[i]) * C + c];
  dwte[static_cast<int64_t>(b.token) * C + c] += s;
}

// Forward: out[i] = ... + wpe[(r % T)·C + c]: position t collects rows b·T + t, b in order.
__global__ void wpe_backward_kernel(float* __restrict__ dwpe, const float* __restrict__ dout, int64_t B, int64_t T,
                                    int64_t C) {
  HG_GRID_STRIDE(i, T * C) {
    float s = 0.f;
    for (int64_t b = 0; b < B; ++b) s += dout[b * T * C + i];
    dwpe[i] += s;
  }
}

}  // namespace

void encoder_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe, int64_t B, int64_t T,
                     int64_t C) {
  const int64_t N = B * T;
  if (N * C == 0) return;
  encoder_forward_kernel<<<elementwise_grid(N * C, kThreads), kThreads>>>(out, tokens, wte, wpe, N, T, C);
  HG_CUDA_CHECK(cudaGetLastError());
}

void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens, int64_t B, int64_t T,
                      int64_t C) {
  const int64_t N = B * T;
  if (N * C == 0) return;
  if (N > INT32_MAX) throw_range("cuda encoder_backward: batch·seqLen must be < 2^31, got " + std::to_string(N));

  std::vector<int32_t> tok(static_cast<size_t>(N));
  HG_CUDA_CHECK(cudaMemcpy(tok.data(), tokens, N * sizeof(int32_t), cudaMemcpyDeviceToHost));
  std::vector<int32_t> rows(static_cast<size_t>(N));
  std::iota(rows.begin(), rows.end(), 0);
  std::stable_sort(rows.begin(), rows.end(), [&](int32_t a, int32_t b) { return tok[a] < tok[b]; });
  std::vector<Bucket> buckets;
  for (int32_t i = 0; i < N; ++i) {
    if (buckets.empty() || tok[rows[i]] != buckets.back().token) buckets.push_back({tok[rows[i]], i, i});
    buckets.back().end = i + 1;
  }
  const size_t rows_bytes = (rows.size() * sizeof(int32_t) + 255) / 256 * 256;
  auto* base = static_cast<unsigned char*>(scratch(rows_bytes + buckets.size() * sizeof(Bucket)));
  auto* d_rows = reinterpret_cast<int32_t*>(base);
  auto* d_buckets = reinterpret_cast<Bucket*>(base + rows_bytes);
  copy_to_device(d_rows, rows.data(), rows.size() * sizeof(int32_t));
  copy_to_device(d_buckets, buckets.data(), buckets.size() * sizeof(Bucket));

  const int64_t col_blocks = (C + kThreads - 1) / kThreads;
  for (size_t first = 0; first < buckets.size(); first += 65535) {  // grid.y limit
    const unsigned count = static_cast<unsigned>(std::min<size_t>(65535, buckets.size() - first));
    wte_backward_kernel<<<dim3(static_cast<unsigned>(col_blocks), count), kThreads>>>(dwte, dout, d_rows,
                                                                                     d_buckets + first, C);
    HG_CUDA_CHECK(cudaGetLastError());
  }
  if (!dwpe) return;
  wpe_backward_kernel<<<elementwise_grid(T * C, kThreads), kThreads>>>(dwpe, dout, B, T, C);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
