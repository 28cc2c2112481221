// The CUDA attention contract of core/attention.h on device pointers, for the engine and the
// benchmarks. All tensors are f32 in device memory with the layouts of core/attention.h:
//   q, k, v, out, dout, dq, dk, dv : [B, H, T, D]     lse : [B, H, T]     head_score : [B, H]
// Precision::BF16 runs the tensor-core kernels when D is 64 or 128 (inputs are converted to
// bf16 on the device, outputs stay f32); any other D runs the exact f32 kernels.
//
// The caller provides a workspace of at least *_workspace_bytes() bytes (256-byte aligned, as
// cudaMalloc returns), so a training loop allocates it once. Everything is enqueued on `stream`;
// nothing is synchronised, and errors of the kernels surface at the caller's next sync.
//
// Determinism (same inputs, same GPU): out, lse, dk, dv and head_score are bitwise
// reproducible. dq is NOT: it is accumulated with float atomics across key blocks, so its
// rounding depends on the order in which blocks finish (differences are at f32 rounding level).
//
// Header only declares host functions: it is usable from plain C++ (tests, benchmarks).
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>

#include "core/attention.h"
#include "core/cuda_api.h"

namespace hg {
namespace cuda {
namespace attention {

// Throws a RangeError when the kernels cannot run this shape (dims < 1, headDim > 256, seqLen
// beyond int range, a negative or non-finite scale). forward/backward call it too.
void check_shape(const AttnShape& s, const AttnParams& p);

// Whether (shape, precision) runs on the bf16 tensor-core kernels.
bool uses_tensor_cores(const AttnShape& s, Precision prec);

size_t forward_workspace_bytes(const AttnShape& s, Precision prec);
void forward(const float* q, const float* k, const float* v, float* out, float* lse, const AttnShape& s,
             const AttnParams& p, Precision prec, void* workspace, cudaStream_t stream);

// head_score may be null: capture off (the benchmark measures the capture overhead with it).
size_t backward_workspace_bytes(const AttnShape& s, Precision prec);
void backward(const float* dout, const float* q, const float* k, const float* v, const float* out,
              const float* lse, float* dq, float* dk, float* dv, float* head_score, const AttnShape& s,
              const AttnParams& p, Precision prec, void* workspace, cudaStream_t stream);

}  // namespace attention
}  // namespace cuda
}  // namespace hg
