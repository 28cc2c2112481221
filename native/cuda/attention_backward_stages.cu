// Backward stages 1 and 3, shared by the f32 and bf16 paths.
//
// Stage 1 (preprocess), the per-head score lives here:
//   dout, out  : [BH, T, D] f32      dvec : [BH, T] f32      head_score : [BH] f32 or null
//   dvec[t] = D(t) = Σ_d dout[t,d]·out[t,d]           (the softmax backward needs it anyway)
//   head_score = Σ_t D(t) = ⟨out, dout⟩ = ∂L/∂ξ for a gate ξ on the head output (docs/method.md)
//   With round_dout (the bf16 path), dvec uses dout rounded to bf16, the same dout that the
//   tensor-core dP = dout·vᵀ sees, so that dP − D cancels where it should (at T = 1 it is exactly
//   0); head_score always uses the exact f32 dout.
//   grid (BH), PreprocessTraits::kThreads threads: one block per head, so the score is reduced
//   inside one block in a fixed order (warp w takes rows w, w+kWarps, ...; then warps 0..7 in
//   order) and is bitwise reproducible. It costs O(T) adds on top of the O(T·D) D(t) pass.
//
// Stage 3 (postprocess): dq = scale · dq_accum, in place (dq: [BH, T, D] f32).
#include "cuda/attention_common.cuh"
#include "cuda/attention_kernels.cuh"
#include "cuda/attention_traits.cuh"
#include "cuda/cuda_check.cuh"

namespace hg {
namespace cuda {
namespace {

using Tr = PreprocessTraits;

__global__ void __launch_bounds__(Tr::kThreads)
    preprocess_kernel(const float* __restrict__ dout, const float* __restrict__ out, float* __restrict__ dvec,
                      float* __restrict__ head_score, int T, int D, bool round_dout) {
  __shared__ double warp_total[Tr::kWarps];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t head_rows = static_cast<int64_t>(blockIdx.x) * T;

  double total = 0.0;  // this warp's Σ D(t), in row order; f64 so long sequences lose nothing
  for (int t = warp; t < T; t += Tr::kWarps) {
    const float* o = out + (head_rows + t) * D;
    const float* g = dout + (head_rows + t) * D;
    float exact = 0.f, rounded = 0.f;
    for (int d = lane; d < D; d += 32) {
      exact = fmaf(o[d], g[d], exact);
      if (round_dout) rounded = fmaf(o[d], __bfloat162float(__float2bfloat16_rn(g[d])), rounded);
    }
    const float row = warp_sum(exact);
    const float row_dvec = round_dout ? warp_sum(rounded) : row;  // round_dout is block-uniform
    if (lane == 0) dvec[head_rows + t] = row_dvec;
    total += row;
  }
  if (head_score == nullptr) return;  // capture off: the block has no more work
  if (lane == 0) warp_total[warp] = total;
  __syncthreads();
  if (threadIdx.x == 0) {
    double s = 0.0;
    for (int w = 0; w < Tr::kWarps; ++w) s += warp_total[w];
    head_score[blockIdx.x] = static_cast<float>(s);
  }
}

__global__ void scale_kernel(float* __restrict__ x, int64_t n, float factor) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] *= factor;
}

}  // namespace

void launch_backward_preprocess(const float* dout, const float* out, float* dvec, float* head_score,
                                bool round_dout, const AttnDims& d, cudaStream_t stream) {
  const dim3 grid = head_tile_grid(d.bh, 1, "preprocess_kernel");
  preprocess_kernel<<<grid, Tr::kThreads, 0, stream>>>(dout, out, dvec, head_score, d.T, d.D, round_dout);
  HG_CUDA_CHECK(cudaGetLastError());
}

void launch_backward_postprocess(float* dq, int64_t n, float scale, cudaStream_t stream) {
  const int threads = ElementwiseTraits::kThreads;
  scale_kernel<<<elementwise_grid(n, threads), threads, 0, stream>>>(dq, n, scale);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
