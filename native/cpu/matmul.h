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
// One block of a linear layer's weight gradient (a trained slice of a bf16 model):
// dw [rows,cols] (row stride ldw) += doutᵀ·inp with dout [N,rows] (row stride ldo) and
// inp [N,cols] (row stride ldi); dbias [rows] += Σ_n dout. Either output may be null. The gemm
// runs in bf16 where bf16_support() is available, else in f32.
void matmul_backward_weight_block(float* dw, int64_t ldw, float* dbias, const float* dout, int64_t ldo,
                                  const float* inp, int64_t ldi, int64_t N, int64_t rows, int64_t cols);
}  // namespace cpu
}  // namespace hg
