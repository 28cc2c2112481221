// The optimizer over spans of the flat parameter array (core/ops.h): global-norm Σ g² and AdamW.
//   params, grads, m, v : [numParams]; only the spans are read or written
// The spans (host) are cut into chunks of at most kChunk parameters, as cpu/adamw.cpp does, and
// uploaded once per call; one block per chunk. Σ g² is reduced per chunk in a fixed order into
// double, and the chunk partials are added on the host in chunk order: bitwise reproducible.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/cuda_check.cuh"
#include "cuda/engine_kernels.cuh"
#include "cuda/reduce.cuh"
#include "cuda/scratch.cuh"

namespace hg {
namespace cuda {
namespace {

constexpr int64_t kChunk = 1 << 14;
constexpr int kThreads = 256;
constexpr int64_t kMaxGrid = 1 << 20;  // blocks loop over chunks beyond this

struct Chunk {
  int64_t begin, end;
  int decay;  // weight decay applies
};

std::vector<Chunk> chunks_of(const ParamSpan* spans, int64_t nspans) {
  std::vector<Chunk> out;
  for (int64_t s = 0; s < nspans; ++s)
    for (int64_t i = 0; i < spans[s].size; i += kChunk)
      out.push_back({spans[s].offset + i, spans[s].offset + std::min(spans[s].size, i + kChunk), spans[s].decay});
  return out;
}

unsigned grid_for(size_t chunks) { return static_cast<unsigned>(std::min<int64_t>(static_cast<int64_t>(chunks), kMaxGrid)); }

__global__ void __launch_bounds__(kThreads)
    sum_squares_kernel(double* __restrict__ partial, const float* __restrict__ grads,
                       const Chunk* __restrict__ chunks, int64_t nchunks) {
  __shared__ double scratch[32];
  for (int64_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
    double s = 0.0;
    for (int64_t i = chunks[c].begin + threadIdx.x; i < chunks[c].end; i += kThreads)
      s += static_cast<double>(grads[i]) * grads[i];
    s = block_reduce_sum(s, scratch);
    if (threadIdx.x == 0) partial[c] = s;
  }
}

// p -= lr · (m̂ / (sqrt(v̂) + eps) + wd · p), g = grad · grad_scale, as cpu/adamw.cpp.
__global__ void __launch_bounds__(kThreads)
    adamw_kernel(float* __restrict__ params, const float* __restrict__ grads, float* __restrict__ m,
                 float* __restrict__ v, const Chunk* __restrict__ chunks, int64_t nchunks, AdamWParams hp, float bc1,
                 float bc2) {
  for (int64_t c = blockIdx.x; c < nchunks; c += gridDim.x) {
    const float wd = chunks[c].decay ? hp.weight_decay : 0.f;
    for (int64_t i = chunks[c].begin + threadIdx.x; i < chunks[c].end; i += kThreads) {
      const float g = grads[i] * hp.grad_scale;
      m[i] = hp.beta1 * m[i] + (1.f - hp.beta1) * g;
      v[i] = hp.beta2 * v[i] + (1.f - hp.beta2) * g * g;
      const float mhat = m[i] / bc1, vhat = v[i] / bc2;
      params[i] -= hp.lr * (mhat / (sqrtf(vhat) + hp.eps) + wd * params[i]);
    }
  }
}

// The chunk list in device scratch, followed (256-byte aligned) by `extra` bytes.
Chunk* upload_chunks(const std::vector<Chunk>& chunks, size_t extra, void** extra_out) {
  const size_t bytes = (chunks.size() * sizeof(Chunk) + 255) / 256 * 256;
  auto* base = static_cast<unsigned char*>(scratch(bytes + extra));
  copy_to_device(base, chunks.data(), chunks.size() * sizeof(Chunk));
  if (extra_out) *extra_out = base + bytes;
  return reinterpret_cast<Chunk*>(base);
}

}  // namespace

double sum_squares(const float* grads, const ParamSpan* spans, int64_t nspans) {
  const std::vector<Chunk> chunks = chunks_of(spans, nspans);
  if (chunks.empty()) return 0.0;
  void* partial_mem = nullptr;
  const Chunk* d_chunks = upload_chunks(chunks, chunks.size() * sizeof(double), &partial_mem);
  auto* d_partial = static_cast<double*>(partial_mem);
  const int64_t n = static_cast<int64_t>(chunks.size());
  sum_squares_kernel<<<grid_for(chunks.size()), kThreads>>>(d_partial, grads, d_chunks, n);
  HG_CUDA_CHECK(cudaGetLastError());
  std::vector<double> partial(chunks.size());
  HG_CUDA_CHECK(cudaMemcpy(partial.data(), d_partial, partial.size() * sizeof(double), cudaMemcpyDeviceToHost));
  double total = 0.0;
  for (double p : partial) total += p;
  return total;
}

void adamw(float* params, const float* grads, float* m, float* v, const ParamSpan* spans, int64_t nspans,
           const AdamWParams& hp) {
  const std::vector<Chunk> chunks = chunks_of(spans, nspans);
  if (chunks.empty()) return;
  const float bc1 = 1.f - static_cast<float>(std::pow(static_cast<double>(hp.beta1), hp.t));
  const float bc2 = 1.f - static_cast<float>(std::pow(static_cast<double>(hp.beta2), hp.t));
  const Chunk* d_chunks = upload_chunks(chunks, 0, nullptr);
  adamw_kernel<<<grid_for(chunks.size()), kThreads>>>(params, grads, m, v, d_chunks,
                                                      static_cast<int64_t>(chunks.size()), hp, bc1, bc2);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
