#include "cpu/rope.h"

#include "cpu/parallel.h"

namespace hg {
namespace cpu {

namespace {

// sign +1: the forward rotation; −1: its transpose.
void rotate(float* x, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0, int64_t heads,
            int64_t stride, int64_t hs, float sign) {
  const int64_t half = hs / 2;
  parallel_chunks(N, 8, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t p = pos0 + r % T;
      const float* c = cos + p * half;
      const float* s = sin + p * half;
      for (int64_t h = 0; h < heads; ++h) {
        float* a = x + r * stride + h * hs;
        float* b = a + half;
        for (int64_t i = 0; i < half; ++i) {
          const float ai = a[i], bi = b[i], si = sign * s[i];
          a[i] = ai * c[i] - bi * si;
          b[i] = bi * c[i] + ai * si;
        }
      }
    }
  }, heads * hs);
}

}  // namespace

void rope_forward(float* x, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0,
                  int64_t heads, int64_t stride, int64_t hs) {
  rotate(x, cos, sin, N, T, pos0, heads, stride, hs, 1.f);
}

void rope_backward(float* dx, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0,
                   int64_t heads, int64_t stride, int64_t hs) {
  rotate(dx, cos, sin, N, T, pos0, heads, stride, hs, -1.f);
}

}  // namespace cpu
}  // namespace hg
