// The bf16 tensor-core attention forward (mma.sync m16n8k16, f32 accumulate), D in {64, 128}.
//
// q : [BH, T, D], k, v : [BH/group, T, D] bf16 (converted from f32 on the device)
// out     : [BH, T, D] f32      lse : [BH, T] f32
// grid (BH, ceil(T / kBlockM)), Bf16ForwardTraits<D>::kThreads threads.
//
// Each warp owns 16 query rows. S = Q·Kᵀ for a 64-key tile is 8 accumulator tiles of 16×8 in
// registers; after the online-softmax update, P is converted to bf16 straight from those
// registers (c_to_a) and multiplied with V, so P never goes through memory. A thread holds
// rows g and g+8 of its warp's rows (g = lane / 4); the 4 lanes of a row reduce with 2 shuffles.
#include "cuda/attention_common.cuh"
#include "cuda/attention_kernels.cuh"
#include "cuda/attention_traits.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/mma_bf16.cuh"

namespace hg {
namespace cuda {
namespace {

// Max and sum over the 4 lanes that share a row of an mma accumulator.
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

template <int HeadDim>
__global__ void __launch_bounds__(Bf16ForwardTraits<HeadDim>::kThreads)
    forward_bf16_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                        float* __restrict__ out, float* __restrict__ lse, int T, float scale, bool causal,
                        int group) {
  using Tr = Bf16ForwardTraits<HeadDim>;
  constexpr int kLd = Tr::kLd;
  constexpr int kKSteps = HeadDim / 16;        // mma k-steps over the head dimension
  constexpr int kKeyTiles = Tr::kBlockN / 8;   // 16×8 score tiles per warp
  constexpr int kOutTiles = HeadDim / 8;       // 16×8 output tiles per warp
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* Qs = reinterpret_cast<bf16*>(smem_raw);  // [kBlockM][kLd]
  bf16* Ks = Qs + Tr::kBlockM * kLd;             // [kBlockN][kLd]
  bf16* Vs = Ks + Tr::kBlockN * kLd;             // [kBlockN][kLd]

  const int64_t head = static_cast<int64_t>(blockIdx.x) * T * HeadDim;
  const int64_t kv_head = static_cast<int64_t>(blockIdx.x / group) * T * HeadDim;  // this query head's k/v head
  const int m0 = blockIdx.y * Tr::kBlockM;
  const int warp = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
  const int row_lo = m0 + warp * 16 + g, row_hi = row_lo + 8;  // the two rows this thread holds
  const float scale_log2 = scale * kLog2e;

  load_rows_bf16<HeadDim>(Qs, kLd, q + head, m0, Tr::kBlockM, T);
  __syncthreads();
  uint32_t qa[kKSteps][4];  // this warp's 16 query rows as A fragments, loaded once
#pragma unroll
  for (int kk = 0; kk < kKSteps; ++kk) mma::load_a(qa[kk], Qs + warp * 16 * kLd + kk * 16, kLd);

  float o[kOutTiles][4] = {};
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};  // [0]: row_lo, [1]: row_hi

  const int n_end = causal ? min(T, m0 + Tr::kBlockM) : T;
  for (int n0 = 0; n0 < n_end; n0 += Tr::kBlockN) {
    __syncthreads();  // the previous K/V tile is no longer read
    load_rows_bf16<HeadDim>(Ks, kLd, k + kv_head, n0, Tr::kBlockN, T);
    load_rows_bf16<HeadDim>(Vs, kLd, v + kv_head, n0, Tr::kBlockN, T);
    __syncthreads();

    // s = q kᵀ (raw scores of this warp's 16 rows against the tile's 64 keys)
    float s[kKeyTiles][4] = {};
#pragma unroll
    for (int kk = 0; kk < kKSteps; ++kk) {
#pragma unroll
      for (int nt = 0; nt < kKeyTiles; ++nt) {
        uint32_t b[2];
        mma::load_b_transposed(b, Ks + nt * 8 * kLd + kk * 16, kLd);
        mma::mma_16x8x16(s[nt], qa[kk], b);
      }
    }

    // mask, then the online softmax update per row
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kKeyTiles; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int row = i < 2 ? row_lo : row_hi, key = n0 + nt * 8 + 2 * t + (i & 1);
        if (!visible(row, key, T, causal)) s[nt][i] = -INFINITY;
        tile_max[i / 2] = fmaxf(tile_max[i / 2], s[nt][i]);
      }
    }
    float alpha[2], base[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float m_new = fmaxf(m[h], quad_max(tile_max[h]));
      base[h] = safe_max(m_new);
      alpha[h] = exp2f((m[h] - base[h]) * scale_log2);
      m[h] = m_new;
      l[h] *= alpha[h];  // this lane's partial sum; the 4 lanes of a row are added at the end
    }
#pragma unroll
    for (int nt = 0; nt < kKeyTiles; ++nt) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        s[nt][i] = exp2f((s[nt][i] - base[i / 2]) * scale_log2);  // now p
        l[i / 2] += s[nt][i];
      }
    }
#pragma unroll
    for (int dt = 0; dt < kOutTiles; ++dt) {
      o[dt][0] *= alpha[0], o[dt][1] *= alpha[0];
      o[dt][2] *= alpha[1], o[dt][3] *= alpha[1];
    }

    // o += p v   (p rounded to bf16, as every tensor-core flash attention does)
#pragma unroll
    for (int kk = 0; kk < Tr::kBlockN / 16; ++kk) {
      uint32_t pa[4];
      mma::c_to_a(pa, s[2 * kk], s[2 * kk + 1]);
#pragma unroll
      for (int dt = 0; dt < kOutTiles; ++dt) {
        uint32_t b[2];
        mma::load_b(b, Vs + kk * 16 * kLd + dt * 8, kLd);
        mma::mma_16x8x16(o[dt], pa, b);
      }
    }
  }

  // out = o / l,  lse = scale·m + log l   (every row sees key 0, so l > 0)
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int row = h == 0 ? row_lo : row_hi;
    const float row_l = quad_sum(l[h]);  // all lanes take part in the shuffle
    if (row >= T) continue;
    const float inv_l = 1.f / row_l;
    float* out_row = out + head + static_cast<int64_t>(row) * HeadDim;
#pragma unroll
    for (int dt = 0; dt < kOutTiles; ++dt)
      *reinterpret_cast<float2*>(out_row + dt * 8 + 2 * t) =
          make_float2(o[dt][2 * h] * inv_l, o[dt][2 * h + 1] * inv_l);
    if (t == 0) lse[blockIdx.x * static_cast<int64_t>(T) + row] = m[h] * scale + logf(row_l);
  }
}

template <int HeadDim>
void launch(const bf16* q, const bf16* k, const bf16* v, float* out, float* lse, const AttnDims& d,
            cudaStream_t stream) {
  using Tr = Bf16ForwardTraits<HeadDim>;
  const size_t smem = sizeof(bf16) * static_cast<size_t>(Tr::kBlockM + 2 * Tr::kBlockN) * Tr::kLd;
  const auto kernel = forward_bf16_kernel<HeadDim>;
  allow_dynamic_smem(reinterpret_cast<const void*>(kernel), smem, "forward_bf16_kernel");
  const dim3 grid = head_tile_grid(d.bh, (d.T + Tr::kBlockM - 1) / Tr::kBlockM, "forward_bf16_kernel");
  kernel<<<grid, Tr::kThreads, smem, stream>>>(q, k, v, out, lse, d.T, d.scale, d.causal, d.group);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_forward_bf16(const bf16* q, const bf16* k, const bf16* v, float* out, float* lse,
                         const AttnDims& d, cudaStream_t stream) {
  if (d.D == 64) return launch<64>(q, k, v, out, lse, d, stream);
  if (d.D == 128) return launch<128>(q, k, v, out, lse, d, stream);
  throw_error("forward_bf16: headDim " + std::to_string(d.D) + " has no tensor-core kernel (64 or 128)");
}

}  // namespace cuda
}  // namespace hg
