// mma.sync m16n8k16 (bf16 inputs, f32 accumulate) and the fragment loads the attention kernels
// need, from row-major shared-memory tiles. Fragment layout (PTX ISA, "Matrix fragments for
// mma.m16n8k16"), with g = lane / 4 and t = lane % 4:
//   A (16×16): a0 = (g, 2t..2t+1)   a1 = (g+8, 2t..2t+1)   a2 = (g, 2t+8..2t+9)   a3 = (g+8, 2t+8..2t+9)
//   B (16×8):  b0 = (2t..2t+1, g)   b1 = (2t+8..2t+9, g)
//   C (16×8):  c0 = (g, 2t)  c1 = (g, 2t+1)  c2 = (g+8, 2t)  c3 = (g+8, 2t+1)
// Each 32-bit register holds two bf16, the lower index in the low half.
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

namespace hg {
namespace cuda {
namespace mma {

// c (16×8) += a (16×16) · b (16×8)
__device__ __forceinline__ void mma_16x8x16(float c[4], const uint32_t a[4], const uint32_t b[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

__device__ __forceinline__ uint32_t pack(__nv_bfloat16 lo, __nv_bfloat16 hi) {
  return static_cast<uint32_t>(__bfloat16_as_ushort(lo)) | (static_cast<uint32_t>(__bfloat16_as_ushort(hi)) << 16);
}
__device__ __forceinline__ uint32_t pack(float lo, float hi) {
  return pack(__float2bfloat16_rn(lo), __float2bfloat16_rn(hi));
}
// Two consecutive bf16 at an even index: one 32-bit shared-memory load.
__device__ __forceinline__ uint32_t load_pair(const __nv_bfloat16* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

// A(m, k) = tile[m·ld + k]   (A stored row-major: Q for S = Q·Kᵀ, K for Sᵀ = K·Qᵀ)
__device__ __forceinline__ void load_a(uint32_t a[4], const __nv_bfloat16* tile, int ld) {
  const int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
  a[0] = load_pair(tile + g * ld + 2 * t);
  a[1] = load_pair(tile + (g + 8) * ld + 2 * t);
  a[2] = load_pair(tile + g * ld + 2 * t + 8);
  a[3] = load_pair(tile + (g + 8) * ld + 2 * t + 8);
}

// A(m, k) = tile[k·ld + m]   (A stored transposed: dS for dQ = dS·K, kept as dSᵀ)
__device__ __forceinline__ void load_a_transposed(uint32_t a[4], const __nv_bfloat16* tile, int ld) {
  const int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
  a[0] = pack(tile[(2 * t) * ld + g], tile[(2 * t + 1) * ld + g]);
  a[1] = pack(tile[(2 * t) * ld + g + 8], tile[(2 * t + 1) * ld + g + 8]);
  a[2] = pack(tile[(2 * t + 8) * ld + g], tile[(2 * t + 9) * ld + g]);
  a[3] = pack(tile[(2 * t + 8) * ld + g + 8], tile[(2 * t + 9) * ld + g + 8]);
}

// B(k, n) = tile[n·ld + k]   (B given as its transpose, row-major: K for S = Q·Kᵀ)
__device__ __forceinline__ void load_b_transposed(uint32_t b[2], const __nv_bfloat16* tile, int ld) {
  const int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
  b[0] = load_pair(tile + g * ld + 2 * t);
  b[1] = load_pair(tile + g * ld + 2 * t + 8);
}

// B(k, n) = tile[k·ld + n]   (B row-major: V for O = P·V)
__device__ __forceinline__ void load_b(uint32_t b[2], const __nv_bfloat16* tile, int ld) {
  const int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
  b[0] = pack(tile[(2 * t) * ld + g], tile[(2 * t + 1) * ld + g]);
  b[1] = pack(tile[(2 * t + 8) * ld + g], tile[(2 * t + 9) * ld + g]);
}

// The accumulators of two neighbouring 16×8 C tiles, (m, 0..7) and (m, 8..15), are exactly an
// A fragment of the 16×16 tile they form: a product can be fed into the next mma from registers.
__device__ __forceinline__ void c_to_a(uint32_t a[4], const float c_left[4], const float c_right[4]) {
  a[0] = pack(c_left[0], c_left[1]);
  a[1] = pack(c_left[2], c_left[3]);
  a[2] = pack(c_right[0], c_right[1]);
  a[3] = pack(c_right[2], c_right[3]);
}

}  // namespace mma
}  // namespace cuda
}  // namespace hg
