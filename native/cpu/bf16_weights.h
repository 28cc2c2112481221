// The small kernels around bf16-resident weights (core/ops.h Bf16WeightOps): block conversions
// between a bf16 weight slice and its f32 master (the embedding lookup on bf16 rows is
// cpu/encoder.h's).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// [rows, cols] blocks, row strides ldd (dst) and lds (src)
void round_block(uint16_t* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols);
void widen_block(float* dst, int64_t ldd, const uint16_t* src, int64_t lds, int64_t rows, int64_t cols);
void copy_block(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols);
}  // namespace cpu
}  // namespace hg
