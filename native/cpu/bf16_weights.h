// The small kernels around bf16-resident weights (core/ops.h Bf16WeightOps): the embedding
// lookup on bf16 rows, and block conversions between a bf16 weight slice and its f32 master.
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out [B,T,C] = wte[tokens[b,t]] + wpe[t] (widened exactly; wpe may be null); wte [V,C], wpe [P,C]
void encoder_forward_bf16w(float* out, const int32_t* tokens, const uint16_t* wte, const uint16_t* wpe,
                           int64_t B, int64_t T, int64_t C);
// [rows, cols] blocks, row strides ldd (dst) and lds (src)
void round_block(uint16_t* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols);
void widen_block(float* dst, int64_t ldd, const uint16_t* src, int64_t lds, int64_t rows, int64_t cols);
void copy_block(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols);
}  // namespace cpu
}  // namespace hg
