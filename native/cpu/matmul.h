// The linear layer (x·Wᵀ + b) on top of cpu::gemm. Weights are [out, in] row-major.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out [N,OC] = inp [N,IC] · w[OC,IC]ᵀ + bias [OC] (bias may be null)
void matmul_forward(float* out, const float* inp, const float* w, const float* bias, int64_t N,
                    int64_t IC, int64_t OC);
// dinp [N,IC] = dout·w (overwrite);  dw [OC,IC] += doutᵀ·inp;  dbias [OC] += Σ_rows dout (or null)
void matmul_backward(float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                     const float* w, int64_t N, int64_t IC, int64_t OC);
// The same with the gemms in bf16 (f32 accumulation, cpu/gemm_bf16.h); needs bf16_support().
void matmul_forward_bf16(float* out, const float* inp, const float* w, const float* bias, int64_t N,
                         int64_t IC, int64_t OC);
void matmul_backward_bf16(float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                          const float* w, int64_t N, int64_t IC, int64_t OC);
}  // namespace cpu
}  // namespace hg
