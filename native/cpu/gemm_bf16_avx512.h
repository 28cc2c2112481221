// The product's own bf16 GEMM, BLIS-shaped: one register-blocked AVX512-BF16 micro-kernel
// (vdpbf16ps: f32 lanes += a pair of bf16 products), packing of A and B into the order it reads,
// and cache blocks whose sizes live in Bf16GemmTraits. This header is the packing and block
// layer (cpu/gemm_bf16_avx512.cpp, the one file compiled for the avx512bf16 target); the loops
// around it, the threads and the entry points are cpu/gemm_bf16_own.{h,cpp}.
//
// Packed formats, in 32-bit words that each hold a bf16 pair (low half: the even k, high half:
// the odd k; a k past the end is 0), which is what one vdpbf16ps lane multiplies:
//   A: panels of MR rows, each [Kp/2][MR] words over the whole of K (Kp = K rounded up to even);
//      rows past the end are 0.
//   B: a KC×NC block as panels of NR columns, each [kcp/2][NR] words; columns past the end are 0.
// Call these only when own_bf16_kernel_built() and the CPU has AVX512-BF16 (cpu_has_avx512_bf16).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {

struct Bf16GemmTraits {
  // Register tile: MR rows × NR columns = 12 × 2 accumulator vectors (24 of the 32 zmm), two B
  // vectors, and A pairs broadcast straight from memory.
  static constexpr int MR = 12;
  static constexpr int NR = 32;
  // Cache blocks: an A micro-panel (MR × KC bf16 = 12 KiB) stays in L1 while the packed B block
  // (KC × NC bf16 = 256 KiB) streams from L2 (1 MiB on Zen 4, 2 MiB on Sapphire Rapids).
  static constexpr int64_t KC = 512;  // even
  static constexpr int64_t NC = 256;  // a multiple of NR
  // Rows of A packed at a time: at most this many bytes of packed A per super-block.
  static constexpr int64_t kApackBytes = int64_t(8) << 20;
};

namespace bf16k {

// True when this build's compiler could generate the kernel (x86-64 GCC >= 10 or Clang >= 9).
bool built();

// Panels for op(A) rows [i0, i0 + rows), all K (layout above). op(A)(i, k) = A[i·lda + k], or
// A[k·lda + i] when trans. f32 values round to bf16 to nearest even (cpu::to_bf16's rounding).
void pack_a(uint32_t* dst, const float* A, int64_t lda, bool trans, int64_t i0, int64_t rows, int64_t K);

// The B block op(B)[k0 .. k0+kc, j0 .. j0+nc] (layout above). op(B)(k, j) = B[k·ldb + j], or
// B[j·ldb + k] when trans. The f32 form rounds; the bf16 form copies bits.
void pack_b_f32(uint32_t* dst, const float* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0,
                int64_t nc);
void pack_b_bf16(uint32_t* dst, const uint16_t* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0,
                 int64_t nc);

// C[rows, nc] (row stride ldc) = alpha · Apanels·Bblock + beta · C + bias[nc] over one K block of
// kc. a: the first panel, already offset to this K block; a_panel_words: words between panels.
// beta == 0 never reads C; bias may be null.
void block(const uint32_t* a, int64_t a_panel_words, int64_t rows, const uint32_t* b, int64_t kc, int64_t nc,
           float* C, int64_t ldc, float alpha, float beta, const float* bias);

}  // namespace bf16k

// The same GEMM on AMX tiles (cpu/gemm_bf16_amx.cpp, compiled for the amx-bf16 target): one
// TDPBF16PS multiplies a 16×32 bf16 tile of A by a 32×16 tile of B into a 16×16 f32 tile of C,
// 16 k pairs at once. The micro-kernel keeps a 32×32 block of C in four tiles, with two A and
// two B tiles per 32 k. Packed formats, in the same 32-bit pair words as above, laid out in the
// order the tiles load them (64 bytes a row, rows adjacent):
//   A: row tiles of 16 rows, each [ceil(K/32)][16 rows][16 words] over the whole of K; rows are
//      rounded up to a whole number of MR and the extra rows, like the k past the end, are 0.
//   B: a KC×NC block as column tiles of 16 columns, each [ceil(kc/32)][16 k pairs][16 words];
//      the columns are rounded up to a whole number of NR, and the extra ones are 0.
// Call these only when built() and the CPU has AMX-BF16 with the tile state enabled for this
// process (cpu/gemm_bf16_own.cpp asks the OS once).
struct AmxGemmTraits {
  static constexpr int MR = 32;  // two row tiles
  static constexpr int NR = 32;  // two column tiles
  static constexpr int64_t KC = 1024;  // a multiple of 32
  static constexpr int64_t NC = 256;   // a multiple of NR
  static constexpr int64_t kApackBytes = int64_t(8) << 20;
};

namespace amxk {

bool built();

// Words between two row tiles of packed A for a K: ceil(K/32)·256.
inline int64_t a_tile_words(int64_t K) { return (K + 31) / 32 * 256; }
// Words of a packed B block of nc columns and kc rows.
inline int64_t b_block_words(int64_t kc, int64_t nc) {
  return (nc + AmxGemmTraits::NR - 1) / AmxGemmTraits::NR * 2 * ((kc + 31) / 32) * 256;
}

// Row tiles for op(A) rows [i0, i0 + rows), all K: ceil(rows/MR)·MR/16 tiles. op(A)(i, k) =
// A[i·lda + k], or A[k·lda + i] when trans; rounded to bf16 as bf16k::pack_a does.
void pack_a(uint32_t* dst, const float* A, int64_t lda, bool trans, int64_t i0, int64_t rows, int64_t K);
// The B block op(B)[k0 .. k0+kc, j0 .. j0+nc], as for bf16k::pack_b_*.
void pack_b_f32(uint32_t* dst, const float* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0,
                int64_t nc);
void pack_b_bf16(uint32_t* dst, const uint16_t* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0,
                 int64_t nc);
// C[rows, nc] = alpha · A·Bblock + beta · C + bias[nc] over one K block of kc, as bf16k::block.
// a: the first row tile, offset to this K block (k0/32·256 words); a_tile_words: between tiles.
void block(const uint32_t* a, int64_t a_tile_words, int64_t rows, const uint32_t* b, int64_t kc, int64_t nc,
           float* C, int64_t ldc, float alpha, float beta, const float* bias);

}  // namespace amxk
}  // namespace cpu
}  // namespace hg
