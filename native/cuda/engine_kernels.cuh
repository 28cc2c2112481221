// Host launchers of the GPT engine's CUDA kernels (one .cu file per concern); ops_cuda.cu puts
// them in the ops table. Contracts, shapes and "+=" semantics are exactly those of the matching
// entries of core/ops.h; every pointer is a device pointer unless a parameter says "host".
// Everything is enqueued on the legacy default stream (see core/ops_cuda.h) and every launch is
// checked with cudaGetLastError.
#pragma once
#include <cstdint>

#include "core/cuda_api.h"
#include "core/ops.h"

namespace hg {
namespace cuda {

// ---- gemm.cu: C[M,N] = op(A)[M,K] · op(B)[K,N] (+ C when accumulate) (+ bias[N] when non-null)
// Row-major; op(A) = A [M,K] (row stride lda), or Aᵀ with A stored [K,M] when trans_a; same for B.
// F32: tiled SIMT kernel, exact f32. BF16: mma.sync m16n8k16 on operands rounded to bf16 as they
// are loaded, f32 accumulation. No atomics: bitwise reproducible.
void gemm(Precision prec, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
          int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc, const float* bias, bool accumulate);

// ---- column_sum.cu: out[c] += Σ_r in[r, c] over rows in a fixed order. in [R,C], out [C]
void column_sum_add(float* out, const float* in, int64_t R, int64_t C);

// ---- encoder.cu
void encoder_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe, int64_t B,
                     int64_t T, int64_t C);
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens, int64_t B,
                      int64_t T, int64_t C);

// ---- layernorm.cu
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b,
                       int64_t N, int64_t C);
void layernorm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                        const float* mean, const float* rstd, int64_t N, int64_t C);

// ---- rmsnorm.cu (dw may be null)
// (w_offset must be 0: the CUDA kernels have no Gemma weight offset yet)
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C, float eps,
                     float w_offset);
void rmsnorm_backward(float* dinp, float* dw, const float* dout, const float* inp, const float* w, const float* rstd,
                      int64_t N, int64_t C, float w_offset);

// ---- rope.cu
void rope_forward(float* x, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0, int64_t heads,
                  int64_t stride, int64_t hs);
void rope_backward(float* dx, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0, int64_t heads,
                   int64_t stride, int64_t hs);

// ---- heads.cu
void split_heads(float* q, float* k, float* v, const float* qkv, int64_t B, int64_t T, int64_t H, int64_t KV,
                 int64_t hs);
void split_heads_backward(float* dqkv, const float* dq, const float* dk, const float* dv, const float* gates,
                          int64_t B, int64_t T, int64_t H, int64_t KV, int64_t hs);
void merge_heads(float* y, const float* o, const float* gates, int64_t B, int64_t T, int64_t H, int64_t hs);
void merge_heads_backward(float* dout_heads, const float* dy, int64_t B, int64_t T, int64_t H, int64_t hs);

// ---- attention_decode.cu
void attention_decode(float* out, const float* qkv, float* kcache, float* vcache, const float* gates, int64_t n,
                      int64_t pos, int64_t H, int64_t KV, int64_t P, int64_t hs, int64_t window, float scale,
                      float softcap);

// ---- pointwise.cu
void residual_forward(float* out, const float* a, const float* b, int64_t n);
void gelu_forward(float* out, const float* inp, int64_t n);
void gelu_backward(float* dinp, const float* inp, const float* dout, int64_t n);
void swiglu_forward(float* out, const float* inp, int64_t N, int64_t F);
void swiglu_backward(float* dinp, const float* inp, const float* dout, int64_t N, int64_t F);

// ---- crossentropy.cu
void softmax_crossentropy_forward(float* probs_inout, float* losses, const int32_t* targets, int64_t N, int64_t V);
void softmax_crossentropy_backward(float* probs_inout, const int32_t* targets, const float* weights, int64_t N,
                                   int64_t V);

// ---- adamw.cu (spans: host array)
double sum_squares(const float* grads, const ParamSpan* spans, int64_t nspans);
void adamw(float* params, const float* grads, float* m, float* v, const ParamSpan* spans, int64_t nspans,
           const AdamWParams& hp);

}  // namespace cuda
}  // namespace hg
