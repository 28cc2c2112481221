// The CUDA backend's ops table (core/ops.h), defined in native/cuda/ops_cuda.cu and linked only
// when HEADGRAD_WITH_CUDA is set. Pointers in the table are device pointers.
//
// One table per precision: Precision::F32 is the exact path (SIMT f32 GEMM, f32 attention);
// Precision::BF16 runs the GEMMs and the attention on tensor cores (bf16 operands, f32
// accumulation). Parameters, gradients, AdamW moments and every other kernel stay f32 in both.
//
// All work is enqueued on the legacy default stream, so calls made from different host threads
// (the addon's AsyncWorkers) are ordered on the GPU; download() and sum_squares() wait for it.
// A kernel fault surfaces as hg::Error at the next call that waits.
//
// Determinism (same inputs, same GPU): bitwise reproducible except the attention's dq, which
// the attention backward accumulates with float atomics (cuda/attention.cuh). The wte gradient scatter is
// deterministic (rows bucketed by token on the host, each bucket summed in order).
#pragma once
#ifdef HEADGRAD_WITH_CUDA
#include "core/cuda_api.h"
#include "core/ops.h"

namespace hg {

const Ops& cuda_ops(cuda::Precision precision);

}  // namespace hg
#endif
