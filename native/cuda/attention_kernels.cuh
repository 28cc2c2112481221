// Launchers of the attention kernels, one .cu file per kernel; attention.cu chooses between
// them. Pointers are device pointers with the layouts of core/attention.h, flattened over
// (batch, head): [BH, T, D] tensors, [BH, T] rows, [BH] head scores. With grouped-query
// attention k, v, dk, dv are [BH/group, T, D]: query head bh reads k/v head bh / group (the
// heads of a batch element are contiguous and H = KV·group, so b·H + h maps to b·KV + h/group).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/launch.cuh"

namespace hg {
namespace cuda {

struct AttnDims {
  int64_t bh = 0;   // batch · heads (query heads)
  int T = 0;        // sequence length
  int D = 0;        // head dimension
  float scale = 0;  // effective softmax scale (never 0 here)
  bool causal = true;
  int H = 1;                     // query heads per batch element
  int group = 1;                 // query heads per k/v head (H / KV)
  const float* gains = nullptr;  // [H] device, backward: dout of head h counts gains[h] times (not in dvec)
};

using bf16 = __nv_bfloat16;

void launch_forward_f32(const float* q, const float* k, const float* v, float* out, float* lse,
                        const AttnDims& d, cudaStream_t stream);
// D must be 64 or 128.
void launch_forward_bf16(const bf16* q, const bf16* k, const bf16* v, float* out, float* lse,
                         const AttnDims& d, cudaStream_t stream);

// Stage 1: dvec = rowsum(dout ∘ out) (dout rounded to bf16 first when round_dout: the bf16
// path); head_score (may be null) = Σ_t rowsum(dout ∘ out) with the exact dout.
void launch_backward_preprocess(const float* dout, const float* out, float* dvec, float* head_score,
                                bool round_dout, const AttnDims& d, cudaStream_t stream);
// Stage 2: dk, dv written; dq_accum (zeroed by the caller) += dS k, unscaled. A block owns a key
// block of one k/v head and runs the group's query heads past it in increasing order.
void launch_backward_f32(const float* dout, const float* q, const float* k, const float* v,
                         const float* lse, const float* dvec, float* dq_accum, float* dk, float* dv,
                         const AttnDims& d, cudaStream_t stream);
void launch_backward_bf16(const bf16* dout, const bf16* q, const bf16* k, const bf16* v,
                          const float* lse, const float* dvec, float* dq_accum, float* dk, float* dv,
                          const AttnDims& d, cudaStream_t stream);
// Stage 3: dq = scale · dq_accum, in place.
void launch_backward_postprocess(float* dq, int64_t n, float scale, cudaStream_t stream);

void launch_to_bf16(const float* src, bf16* dst, int64_t n, cudaStream_t stream);

}  // namespace cuda
}  // namespace hg
