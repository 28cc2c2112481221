// Backward stage 2, bf16 tensor-core path (mma.sync m16n8k16, f32 accumulate), D in {64, 128}.
//
// dout, q       : [BH, T, D] bf16 (converted from f32 on the device)
// k, v          : [BH/group, T, D] bf16
// lse, dvec     : [BH, T] f32       (dvec = rowsum(dout ∘ out) in f32, stage 1)
// dq_accum      : [BH, T, D] f32, zeroed by the caller; receives Σ_j dS_ij k_j (unscaled)
// dk, dv        : [BH/group, T, D] f32, written here
// gains         : [H] or null: query head h's P and dS count gains[h] times (its gate, under GQA)
// grid (BH/group, ceil(T / kBlockN)), Bf16BackwardTraits<D>::kThreads threads. Under GQA a
// block runs the query heads of its k/v head one after another (increasing h), accumulating
// into the same dK, dV registers.
//
// A block owns 64 keys, 16 per warp, and walks the query tiles (32 rows) that can see them.
// Per tile a warp computes the transposed products Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ (keys as the M
// dimension), so that Pᵀ and dSᵀ are already the A operands of dV += Pᵀ·dO and dK += dSᵀ·Q and
// go from accumulator to mma input in registers. dQ = dS·K sums over all 64 keys of the block,
// so dSᵀ is staged in shared memory and each warp computes a 16×(D/2) slice of the tile's dQ,
// added to dq_accum with atomics. dK and dV have one owner each: bitwise reproducible.
#include "cuda/attention_common.cuh"
#include "cuda/attention_kernels.cuh"
#include "cuda/attention_traits.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/mma_bf16.cuh"

namespace hg {
namespace cuda {
namespace {

// Writes a warp's 16×HeadDim accumulator (rows row0.., f32) to global memory, rows < T only.
template <int HeadDim>
__device__ __forceinline__ void store_rows(float* dst, const float acc[HeadDim / 8][4], int row0, int T, float factor) {
  const int g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int row = row0 + g + 8 * h;
    if (row >= T) continue;
#pragma unroll
    for (int dt = 0; dt < HeadDim / 8; ++dt)
      *reinterpret_cast<float2*>(dst + static_cast<int64_t>(row) * HeadDim + dt * 8 + 2 * t) =
          make_float2(acc[dt][2 * h] * factor, acc[dt][2 * h + 1] * factor);
  }
}

template <int HeadDim>
__global__ void __launch_bounds__(Bf16BackwardTraits<HeadDim>::kThreads)
    backward_bf16_kernel(const bf16* __restrict__ dout, const bf16* __restrict__ q, const bf16* __restrict__ k,
                         const bf16* __restrict__ v, const float* __restrict__ lse, const float* __restrict__ dvec,
                         float* __restrict__ dq_accum, float* __restrict__ dk, float* __restrict__ dv, int T,
                         float scale, bool causal, int H, int group, const float* __restrict__ gains) {
  using Tr = Bf16BackwardTraits<HeadDim>;
  constexpr int kLd = Tr::kLd, kLdS = Tr::kLdS;
  constexpr int kKSteps = HeadDim / 16;          // k-steps over the head dimension
  constexpr int kQueryTiles = Tr::kBlockM / 8;   // 16×8 tiles of Sᵀ per warp (n = queries)
  constexpr int kDimTiles = HeadDim / 8;         // 16×8 tiles of dK, dV per warp (n = head dim)
  constexpr int kDqDimTiles = kDimTiles / 2;     // a warp computes half the columns of a dQ slice
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* Ks = reinterpret_cast<bf16*>(smem_raw);  // [kBlockN][kLd]
  bf16* Vs = Ks + Tr::kBlockN * kLd;             // [kBlockN][kLd]
  bf16* Qs = Vs + Tr::kBlockN * kLd;             // [kBlockM][kLd]
  bf16* dOs = Qs + Tr::kBlockM * kLd;            // [kBlockM][kLd]
  bf16* dSs = dOs + Tr::kBlockM * kLd;           // [kBlockN][kLdS]: dSᵀ, keys × queries
  float* lse_s = reinterpret_cast<float*>(dSs + Tr::kBlockN * kLdS);  // [kBlockM]
  float* dvec_s = lse_s + Tr::kBlockM;                                 // [kBlockM]

  const int64_t kv_head = static_cast<int64_t>(blockIdx.x) * T * HeadDim;  // k, v, dk, dv of this k/v head
  const int n0 = blockIdx.y * Tr::kBlockN;
  const int warp = threadIdx.x / 32, g = threadIdx.x % 32 / 4, t = threadIdx.x % 4;
  const int key_local = warp * 16;  // this warp's 16 keys within the block
  const float scale_log2 = scale * kLog2e;

  load_rows_bf16<HeadDim>(Ks, kLd, k + kv_head, n0, Tr::kBlockN, T);
  load_rows_bf16<HeadDim>(Vs, kLd, v + kv_head, n0, Tr::kBlockN, T);

  float dk_acc[kDimTiles][4] = {}, dv_acc[kDimTiles][4] = {};
  const int m_begin = causal ? n0 / Tr::kBlockM * Tr::kBlockM : 0;
  for (int member = 0; member < group; ++member) {
    const int64_t bh = static_cast<int64_t>(blockIdx.x) * group + member;  // a query head of this k/v head
    const int64_t head_rows = bh * T;
    const int64_t head = head_rows * HeadDim;
    const float gain = gains ? gains[bh % H] : 1.f;  // 1 multiplies exactly: no gains, same bits
    for (int m0 = m_begin; m0 < T; m0 += Tr::kBlockM) {
      __syncthreads();  // the previous Q, dO, dS tiles are no longer read
      load_rows_bf16<HeadDim>(Qs, kLd, q + head, m0, Tr::kBlockM, T);
      load_rows_bf16<HeadDim>(dOs, kLd, dout + head, m0, Tr::kBlockM, T);
      if (threadIdx.x < Tr::kBlockM) {
        const int row = m0 + threadIdx.x;
        lse_s[threadIdx.x] = row < T ? lse[head_rows + row] : 0.f;
        dvec_s[threadIdx.x] = row < T ? dvec[head_rows + row] : 0.f;
      }
      __syncthreads();

      // forward: S = scale · q kᵀ, P = exp(scale·S_raw − lse)   (here transposed: keys × queries)
      float p[kQueryTiles][4] = {}, dp[kQueryTiles][4] = {};
#pragma unroll
      for (int kk = 0; kk < kKSteps; ++kk) {
        uint32_t ka[4], va[4];
        mma::load_a(ka, Ks + key_local * kLd + kk * 16, kLd);
        mma::load_a(va, Vs + key_local * kLd + kk * 16, kLd);
#pragma unroll
        for (int nt = 0; nt < kQueryTiles; ++nt) {
          uint32_t b[2];
          mma::load_b_transposed(b, Qs + nt * 8 * kLd + kk * 16, kLd);
          mma::mma_16x8x16(p[nt], ka, b);   // Sᵀ = k qᵀ
          mma::load_b_transposed(b, dOs + nt * 8 * kLd + kk * 16, kLd);
          mma::mma_16x8x16(dp[nt], va, b);  // backward of out = P v:  dPᵀ = v doutᵀ
        }
      }
      // backward of the softmax: dS = P ∘ (dP − D)   (dSᵀ overwrites dPᵀ in place)
#pragma unroll
      for (int nt = 0; nt < kQueryTiles; ++nt) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int key = n0 + key_local + g + 8 * (i / 2);
          const int query_local = nt * 8 + 2 * t + (i & 1);
          const bool vis = visible(m0 + query_local, key, T, causal);
          p[nt][i] = vis ? exp2f(p[nt][i] * scale_log2 - lse_s[query_local] * kLog2e) : 0.f;
          dp[nt][i] = gain * (p[nt][i] * (dp[nt][i] - dvec_s[query_local]));
          p[nt][i] *= gain;
        }
      }

      // out = P v          ->  dv += Pᵀ dout
      // S = scale · q kᵀ   ->  dk += dSᵀ q   (scale applied at the end)
#pragma unroll
      for (int kk = 0; kk < Tr::kBlockM / 16; ++kk) {
        uint32_t pa[4], dsa[4];
        mma::c_to_a(pa, p[2 * kk], p[2 * kk + 1]);
        mma::c_to_a(dsa, dp[2 * kk], dp[2 * kk + 1]);
#pragma unroll
        for (int dt = 0; dt < kDimTiles; ++dt) {
          uint32_t b[2];
          mma::load_b(b, dOs + kk * 16 * kLd + dt * 8, kLd);
          mma::mma_16x8x16(dv_acc[dt], pa, b);
          mma::load_b(b, Qs + kk * 16 * kLd + dt * 8, kLd);
          mma::mma_16x8x16(dk_acc[dt], dsa, b);
        }
      }

      // Stage dSᵀ (bf16; dp holds dSᵀ now) for dQ, which needs every warp's keys.
#pragma unroll
      for (int nt = 0; nt < kQueryTiles; ++nt) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int key_row = key_local + g + 8 * h;
          *reinterpret_cast<__nv_bfloat162*>(dSs + key_row * kLdS + nt * 8 + 2 * t) =
              __floats2bfloat162_rn(dp[nt][2 * h], dp[nt][2 * h + 1]);
        }
      }
      __syncthreads();

      // S = scale · q kᵀ   ->  dq += dS k   (scale applied in stage 3). Warp w computes query rows
      // (w % 2)·16.. and head-dim columns (w / 2)·D/2.. of this tile's dQ.
      const int q_local = (warp % 2) * 16, d_first = (warp / 2) * kDqDimTiles;
      float dq_acc[kDqDimTiles][4] = {};
#pragma unroll
      for (int kk = 0; kk < Tr::kBlockN / 16; ++kk) {
        uint32_t a[4];
        mma::load_a_transposed(a, dSs + kk * 16 * kLdS + q_local, kLdS);
#pragma unroll
        for (int dt = 0; dt < kDqDimTiles; ++dt) {
          uint32_t b[2];
          mma::load_b(b, Ks + kk * 16 * kLd + (d_first + dt) * 8, kLd);
          mma::mma_16x8x16(dq_acc[dt], a, b);
        }
      }
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = m0 + q_local + g + 8 * h;
        if (row >= T) continue;
        float* dst = dq_accum + head + static_cast<int64_t>(row) * HeadDim;
#pragma unroll
        for (int dt = 0; dt < kDqDimTiles; ++dt) {
          const int col = (d_first + dt) * 8 + 2 * t;
          atomicAdd(dst + col, dq_acc[dt][2 * h]);
          atomicAdd(dst + col + 1, dq_acc[dt][2 * h + 1]);
        }
      }
    }
  }  // query heads of the group

  store_rows<HeadDim>(dk + kv_head, dk_acc, n0 + key_local, T, scale);
  store_rows<HeadDim>(dv + kv_head, dv_acc, n0 + key_local, T, 1.f);
}

template <int HeadDim>
void launch(const bf16* dout, const bf16* q, const bf16* k, const bf16* v, const float* lse, const float* dvec,
            float* dq_accum, float* dk, float* dv, const AttnDims& d, cudaStream_t stream) {
  using Tr = Bf16BackwardTraits<HeadDim>;
  const size_t smem = sizeof(bf16) * (static_cast<size_t>(2 * Tr::kBlockN + 2 * Tr::kBlockM) * Tr::kLd +
                                      static_cast<size_t>(Tr::kBlockN) * Tr::kLdS) +
                      sizeof(float) * 2 * Tr::kBlockM;
  const auto kernel = backward_bf16_kernel<HeadDim>;
  allow_dynamic_smem(reinterpret_cast<const void*>(kernel), smem, "backward_bf16_kernel");
  const dim3 grid = head_tile_grid(d.bh / d.group, (d.T + Tr::kBlockN - 1) / Tr::kBlockN, "backward_bf16_kernel");
  kernel<<<grid, Tr::kThreads, smem, stream>>>(dout, q, k, v, lse, dvec, dq_accum, dk, dv, d.T, d.scale, d.causal,
                                               d.H, d.group, d.gains);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void launch_backward_bf16(const bf16* dout, const bf16* q, const bf16* k, const bf16* v, const float* lse,
                          const float* dvec, float* dq_accum, float* dk, float* dv, const AttnDims& d,
                          cudaStream_t stream) {
  if (d.D == 64) return launch<64>(dout, q, k, v, lse, dvec, dq_accum, dk, dv, d, stream);
  if (d.D == 128) return launch<128>(dout, q, k, v, lse, dvec, dq_accum, dk, dv, d, stream);
  throw_error("backward_bf16: headDim " + std::to_string(d.D) + " has no tensor-core kernel (64 or 128)");
}

}  // namespace cuda
}  // namespace hg
