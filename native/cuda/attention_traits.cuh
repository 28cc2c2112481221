// Tile sizes of every CUDA attention kernel, in one place. Kernels and launchers read them from
// here; no tile size is written as a literal anywhere else.
#pragma once
#include "core/attention.h"

namespace hg {
namespace cuda {

// f32 forward: a block owns kBlockM query rows (kRowsPerWarp per warp) and walks key tiles of
// kBlockN = 32 keys, one key per lane, so a score row of a tile is one register per lane.
// Each lane owns output columns lane, lane+32, ... (at most kMaxHeadDim/32 of them).
struct F32ForwardTraits {
  static constexpr int kWarps = 8;
  static constexpr int kRowsPerWarp = 4;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kBlockM = kWarps * kRowsPerWarp;
  static constexpr int kBlockN = 32;
  static constexpr int kColsPerLane = static_cast<int>(kMaxHeadDim) / 32;
};

// f32 backward: a block owns kBlockN keys (their dK, dV live in shared memory) and walks query
// tiles of kBlockM rows; one thread per (query, key) pair of the tile computes P and dS.
struct F32BackwardTraits {
  static constexpr int kBlockM = 16;
  static constexpr int kBlockN = 16;
  static constexpr int kThreads = kBlockM * kBlockN;
};

// bf16 tensor-core kernels use mma.sync m16n8k16: a warp owns 16 rows of the M dimension.
// Shared-memory rows are padded by kPad bf16 (16 bytes): rows stay 16-byte aligned for vector
// loads and the fragment loads of a warp fall into distinct banks.
template <int HeadDim>
struct Bf16ForwardTraits {
  static_assert(HeadDim % 16 == 0, "the mma path needs headDim a multiple of 16");
  static constexpr int kHeadDim = HeadDim;
  static constexpr int kWarps = 4;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kBlockM = 16 * kWarps;  // query rows per block
  static constexpr int kBlockN = 64;           // keys per tile
  static constexpr int kPad = 8;
  static constexpr int kLd = HeadDim + kPad;   // smem row stride of Q, K, V tiles (bf16)
};

// bf16 backward: a block owns kBlockN keys (16 per warp) and walks query tiles of kBlockM rows.
// dS of a tile is staged in shared memory ([keys][queries], stride kLdS) for the dQ product.
template <int HeadDim>
struct Bf16BackwardTraits {
  static_assert(HeadDim % 16 == 0, "the mma path needs headDim a multiple of 16");
  static constexpr int kHeadDim = HeadDim;
  static constexpr int kWarps = 4;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kBlockN = 16 * kWarps;  // keys per block
  static constexpr int kBlockM = 32;           // query rows per tile
  static constexpr int kPad = 8;
  static constexpr int kLd = HeadDim + kPad;
  static constexpr int kLdS = kBlockM + kPad;
};

// Backward stage 1 (D = rowsum(dO∘O) and the head score): one block per (batch, head).
struct PreprocessTraits {
  static constexpr int kWarps = 8;
  static constexpr int kThreads = 32 * kWarps;
};

// Grid-stride elementwise kernels (bf16 conversion, dQ postprocess).
struct ElementwiseTraits {
  static constexpr int kThreads = 256;
  static constexpr int kBlocksPerSm = 4;
};

}  // namespace cuda
}  // namespace hg
