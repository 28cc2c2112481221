#include "cpu/bf16_weights.h"

#include <cstring>

#include "core/bf16.h"
#include "cpu/parallel.h"

namespace hg {
namespace cpu {

namespace {
template <class F>
void by_rows(int64_t rows, int64_t cols, F&& row) {
  parallel_chunks(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) row(r);
  });
}
}  // namespace

void round_block(uint16_t* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  by_rows(rows, cols, [&](int64_t r) {
    for (int64_t c = 0; c < cols; ++c) dst[r * ldd + c] = to_bf16(src[r * lds + c]);
  });
}

void widen_block(float* dst, int64_t ldd, const uint16_t* src, int64_t lds, int64_t rows, int64_t cols) {
  by_rows(rows, cols, [&](int64_t r) {
    for (int64_t c = 0; c < cols; ++c) dst[r * ldd + c] = from_bf16(src[r * lds + c]);
  });
}

void copy_block(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols) {
  by_rows(rows, cols, [&](int64_t r) { std::memcpy(dst + r * ldd, src + r * lds, static_cast<size_t>(cols) * 4); });
}

}  // namespace cpu
}  // namespace hg
