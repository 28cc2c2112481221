// The exact f32 attention forward (the reference path on the GPU): any D <= kMaxHeadDim.
//
// q, out : [BH, T, D] f32    k, v : [BH/group, T, D] f32    lse : [BH, T] f32
// grid (BH, ceil(T / kBlockM)), F32ForwardTraits::kThreads threads.
//
// A block keeps its query tile in shared memory and streams key/value tiles of 32 keys through
// it. Each warp owns kRowsPerWarp query rows; for a row, lane j scores key j of the tile, so
// the tile's scores are one register per lane and the row max/sum are warp reductions. The
// softmax is online (running max m, running sum l, output rescaled by exp(m_old − m_new)), so
// nothing of size T×T ever exists.
#include "cuda/attention_common.cuh"
#include "cuda/attention_kernels.cuh"
#include "cuda/attention_traits.cuh"
#include "cuda/cuda_check.cuh"

namespace hg {
namespace cuda {
namespace {

using Tr = F32ForwardTraits;

// Dynamic shared memory: Q [kBlockM][D], K [kBlockN][D+1], V [kBlockN][D]. K rows are padded to
// an odd stride so that 32 lanes reading 32 different K rows hit 32 different banks.
size_t smem_bytes(int D) {
  return sizeof(float) * (static_cast<size_t>(Tr::kBlockM) * D + Tr::kBlockN * (D + 1) + Tr::kBlockN * D);
}

__global__ void __launch_bounds__(Tr::kThreads)
    forward_f32_kernel(const float* __restrict__ q, const float* __restrict__ k, const float* __restrict__ v,
                       float* __restrict__ out, float* __restrict__ lse, int T, int D, float scale, bool causal,
                       int group) {
  extern __shared__ float smem[];
  float* Qs = smem;                      // [kBlockM][D]
  float* Ks = Qs + Tr::kBlockM * D;      // [kBlockN][D + 1]
  float* Vs = Ks + Tr::kBlockN * (D + 1);  // [kBlockN][D]

  const int64_t head = static_cast<int64_t>(blockIdx.x) * T * D;
  const int64_t kv_head = static_cast<int64_t>(blockIdx.x / group) * T * D;  // this query head's k/v head
  const int m0 = blockIdx.y * Tr::kBlockM;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float scale_log2 = scale * kLog2e;

  load_rows_f32(Qs, D, q + head, m0, Tr::kBlockM, T, D);

  float acc[Tr::kRowsPerWarp][Tr::kColsPerLane] = {};
  float m[Tr::kRowsPerWarp], l[Tr::kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < Tr::kRowsPerWarp; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.f;
  }

  // With a causal mask, keys after the tile's last query row are invisible to the whole tile.
  const int n_end = causal ? min(T, m0 + Tr::kBlockM) : T;
  for (int n0 = 0; n0 < n_end; n0 += Tr::kBlockN) {
    __syncthreads();  // the previous tile's K/V are no longer read
    load_rows_f32(Ks, D + 1, k + kv_head, n0, Tr::kBlockN, T, D);
    load_rows_f32(Vs, D, v + kv_head, n0, Tr::kBlockN, T, D);
    __syncthreads();

#pragma unroll
    for (int r = 0; r < Tr::kRowsPerWarp; ++r) {
      const int row_local = warp * Tr::kRowsPerWarp + r, row = m0 + row_local;
      if (row >= T || (causal && n0 > row)) continue;  // warp-uniform: no key of this tile is visible

      // s_j = q_row · k_j (raw; the scale is folded into the exponent)
      const int key = n0 + lane;
      float s = -INFINITY;
      if (visible(row, key, T, causal)) {
        const float* qr = Qs + row_local * D;
        const float* kr = Ks + lane * (D + 1);
        float dot = 0.f;
        for (int d = 0; d < D; ++d) dot = fmaf(qr[d], kr[d], dot);
        s = dot;
      }
      // online softmax: m_new = max(m, max_j s_j);  acc, l rescaled by exp(m − m_new)
      const float m_new = fmaxf(m[r], warp_max(s));
      const float base = safe_max(m_new);
      const float alpha = exp2f((m[r] - base) * scale_log2);
      const float p = exp2f((s - base) * scale_log2);
      l[r] = l[r] * alpha + warp_sum(p);
      m[r] = m_new;

      // acc[d] = alpha·acc[d] + Σ_j p_j v_j[d]   (lane owns d = lane + 32c)
      const int j_end = min(Tr::kBlockN, (causal ? row + 1 : T) - n0);
#pragma unroll
      for (int c = 0; c < Tr::kColsPerLane; ++c) acc[r][c] *= alpha;
      for (int j = 0; j < j_end; ++j) {
        const float pj = __shfl_sync(0xffffffffu, p, j);
#pragma unroll
        for (int c = 0; c < Tr::kColsPerLane; ++c) {
          const int d = lane + 32 * c;
          if (d < D) acc[r][c] = fmaf(pj, Vs[j * D + d], acc[r][c]);
        }
      }
    }
  }

#pragma unroll
  for (int r = 0; r < Tr::kRowsPerWarp; ++r) {
    const int row = m0 + warp * Tr::kRowsPerWarp + r;
    if (row >= T) continue;
    // Every row sees at least key 0, so l >= 1 and the division and log are safe.
    const float inv_l = 1.f / l[r];
#pragma unroll
    for (int c = 0; c < Tr::kColsPerLane; ++c) {
      const int d = lane + 32 * c;
      if (d < D) out[head + static_cast<int64_t>(row) * D + d] = acc[r][c] * inv_l;
    }
    // lse = log Σ_j exp(scale·s_j) = scale·m + log l
    if (lane == 0) lse[blockIdx.x * static_cast<int64_t>(T) + row] = m[r] * scale + logf(l[r]);
  }
}

}  // namespace

void launch_forward_f32(const float* q, const float* k, const float* v, float* out, float* lse,
                        const AttnDims& d, cudaStream_t stream) {
  const size_t smem = smem_bytes(d.D);
  allow_dynamic_smem(reinterpret_cast<const void*>(forward_f32_kernel), smem, "forward_f32_kernel");
  const dim3 grid = head_tile_grid(d.bh, (d.T + Tr::kBlockM - 1) / Tr::kBlockM, "forward_f32_kernel");
  forward_f32_kernel<<<grid, Tr::kThreads, smem, stream>>>(q, k, v, out, lse, d.T, d.D, d.scale, d.causal,
                                                           d.group);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
