#include "cpu/bf16_weights.h"

#include <cstring>

#include "core/bf16.h"
#include "cpu/parallel.h"

namespace hg {
namespace cpu {

// Forward of cpu::encoder_forward with the tables in bf16: the same sum of the widened values.
void encoder_forward_bf16w(float* out, const int32_t* tokens, const uint16_t* wte, const uint16_t* wpe,
                           int64_t B, int64_t T, int64_t C) {
  parallel_chunks(B * T, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const uint16_t* te = wte + static_cast<int64_t>(tokens[r]) * C;
      float* o = out + r * C;
      if (!wpe) {
        for (int64_t c = 0; c < C; ++c) o[c] = from_bf16(te[c]);
        continue;
      }
      const uint16_t* pe = wpe + (r % T) * C;
      for (int64_t c = 0; c < C; ++c) o[c] = from_bf16(te[c]) + from_bf16(pe[c]);
    }
  });
}

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
