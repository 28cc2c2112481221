// Rotary position embedding applied in place to the q and k heads of the token-major qkv rows
// (Hugging Face rotate_half convention: elements i and i + hs/2 of a head are rotated together
// by the angle of frequency i).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// x [N, stride]: in each row, the first `heads` blocks of hs columns are rotated (the engine
// passes qkv with heads = H + KV: the q heads, then the k heads). Row r has position
// pos0 + r % T. cos, sin [P, hs/2] (core/rope.h).
//   x'[i]        = x[i]·cos − x[i+hs/2]·sin
//   x'[i+hs/2]   = x[i+hs/2]·cos + x[i]·sin
void rope_forward(float* x, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0,
                  int64_t heads, int64_t stride, int64_t hs);
// The transpose (rotation by −angle), in place on the gradient rows: dx = Rᵀ dx'.
void rope_backward(float* dx, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0,
                   int64_t heads, int64_t stride, int64_t hs);
}  // namespace cpu
}  // namespace hg
