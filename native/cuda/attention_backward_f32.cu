// Backward stage 2, exact f32 path: any D <= kMaxHeadDim.
//
// dout, q       : [BH, T, D] f32     lse, dvec : [BH, T] f32 (dvec = rowsum(dout ∘ out), stage 1)
// k, v, dk, dv  : [BH/group, T, D] f32 (dk, dv written here)
// dq_accum      : [BH, T, D] f32, zeroed by the caller; receives Σ_j dS_ij k_j (unscaled, stage 3 scales)
// gains         : [H] or null: query head h's P and dS count gains[h] times (its gate, under GQA)
// grid (BH/group, ceil(T / kBlockN)), F32BackwardTraits::kThreads threads.
//
// A block owns kBlockN keys of one k/v head and keeps their dK, dV in shared memory while it
// walks, for each query head of the group in increasing order, the query tiles that can see
// them, so dK and dV have one writer and a fixed summation order (bitwise reproducible). dQ rows
// are shared by all key blocks and are accumulated with atomicAdd.
#include "cuda/attention_common.cuh"
#include "cuda/attention_kernels.cuh"
#include "cuda/attention_traits.cuh"
#include "cuda/cuda_check.cuh"

namespace hg {
namespace cuda {
namespace {

using Tr = F32BackwardTraits;
constexpr int kLdP = Tr::kBlockN + 1;  // P and dS tiles, padded against bank conflicts

// Dynamic shared memory, in floats: K, V, Q, dO tiles with odd row stride D+1 (threads of a
// warp read different rows), dK, dV accumulators [kBlockN][D], P and dS [kBlockM][kBlockN+1],
// lse and dvec of the query tile.
size_t smem_floats(int D) {
  return static_cast<size_t>(2 * Tr::kBlockN + 2 * Tr::kBlockM) * (D + 1) + 2 * Tr::kBlockN * D +
         2 * Tr::kBlockM * kLdP + 2 * Tr::kBlockM;
}

__device__ float dot(const float* a, const float* b, int D) {
  float s = 0.f;
  for (int d = 0; d < D; ++d) s = fmaf(a[d], b[d], s);
  return s;
}

__global__ void __launch_bounds__(Tr::kThreads)
    backward_f32_kernel(const float* __restrict__ dout, const float* __restrict__ q, const float* __restrict__ k,
                        const float* __restrict__ v, const float* __restrict__ lse, const float* __restrict__ dvec,
                        float* __restrict__ dq_accum, float* __restrict__ dk, float* __restrict__ dv, int T, int D,
                        float scale, bool causal, int H, int group, const float* __restrict__ gains) {
  extern __shared__ float smem[];
  const int ld = D + 1;
  float* Ks = smem;                     // [kBlockN][ld]
  float* Vs = Ks + Tr::kBlockN * ld;    // [kBlockN][ld]
  float* Qs = Vs + Tr::kBlockN * ld;    // [kBlockM][ld]
  float* dOs = Qs + Tr::kBlockM * ld;   // [kBlockM][ld]
  float* dKs = dOs + Tr::kBlockM * ld;  // [kBlockN][D]
  float* dVs = dKs + Tr::kBlockN * D;   // [kBlockN][D]
  float* Ps = dVs + Tr::kBlockN * D;    // [kBlockM][kLdP]
  float* dSs = Ps + Tr::kBlockM * kLdP; // [kBlockM][kLdP]
  float* lse_s = dSs + Tr::kBlockM * kLdP;  // [kBlockM]
  float* dvec_s = lse_s + Tr::kBlockM;      // [kBlockM]

  const int64_t kv_head = static_cast<int64_t>(blockIdx.x) * T * D;  // k, v, dk, dv of this k/v head
  const int n0 = blockIdx.y * Tr::kBlockN;
  const float scale_log2 = scale * kLog2e;

  load_rows_f32(Ks, ld, k + kv_head, n0, Tr::kBlockN, T, D);
  load_rows_f32(Vs, ld, v + kv_head, n0, Tr::kBlockN, T, D);
  for (int e = threadIdx.x; e < Tr::kBlockN * D; e += blockDim.x) dKs[e] = dVs[e] = 0.f;

  // Query row i sees key j only if j <= i (causal): start at the tile holding query n0.
  const int m_begin = causal ? n0 / Tr::kBlockM * Tr::kBlockM : 0;
  const int ii = threadIdx.x / Tr::kBlockN, jj = threadIdx.x % Tr::kBlockN;
  for (int member = 0; member < group; ++member) {
    const int64_t bh = static_cast<int64_t>(blockIdx.x) * group + member;  // a query head of this k/v head
    const int64_t head_rows = bh * T;
    const int64_t head = head_rows * D;
    const float gain = gains ? gains[bh % H] : 1.f;  // 1 multiplies exactly: no gains, same bits
    for (int m0 = m_begin; m0 < T; m0 += Tr::kBlockM) {
      __syncthreads();  // the previous query tile and its P/dS are no longer read
      load_rows_f32(Qs, ld, q + head, m0, Tr::kBlockM, T, D);
      load_rows_f32(dOs, ld, dout + head, m0, Tr::kBlockM, T, D);
      if (threadIdx.x < Tr::kBlockM) {
        const int row = m0 + threadIdx.x;
        lse_s[threadIdx.x] = row < T ? lse[head_rows + row] : 0.f;
        dvec_s[threadIdx.x] = row < T ? dvec[head_rows + row] : 0.f;
      }
      __syncthreads();

      // One thread per (query ii, key jj):
      //   forward: P = softmax(scale·q kᵀ) = exp(scale·s − lse)   (recomputed from the saved lse)
      //   backward of out = P v:        dP = dout vᵀ
      //   backward of the softmax:      dS = P ∘ (dP − D)         (D = rowsum(dout ∘ out))
      float p = 0.f, ds = 0.f;
      if (visible(m0 + ii, n0 + jj, T, causal)) {
        p = exp2f(dot(Qs + ii * ld, Ks + jj * ld, D) * scale_log2 - lse_s[ii] * kLog2e);
        ds = p * (dot(dOs + ii * ld, Vs + jj * ld, D) - dvec_s[ii]);
      }
      Ps[ii * kLdP + jj] = gain * p;
      dSs[ii * kLdP + jj] = gain * ds;
      __syncthreads();

      // out = P v            ->  dv = Pᵀ dout
      // S = scale · q kᵀ     ->  dk = scale · dSᵀ q   (scale applied once, at the end)
      // Element e of dK/dV always belongs to the same thread: no race, fixed order.
      for (int e = threadIdx.x; e < Tr::kBlockN * D; e += blockDim.x) {
        const int j = e / D, d = e % D;
        float sv = 0.f, sk = 0.f;
#pragma unroll
        for (int i = 0; i < Tr::kBlockM; ++i) {
          sv = fmaf(Ps[i * kLdP + j], dOs[i * ld + d], sv);
          sk = fmaf(dSs[i * kLdP + j], Qs[i * ld + d], sk);
        }
        dVs[e] += sv;
        dKs[e] += sk;
      }
      // S = scale · q kᵀ     ->  dq = scale · dS k   (scale applied in stage 3)
      for (int e = threadIdx.x; e < Tr::kBlockM * D; e += blockDim.x) {
        const int i = e / D, d = e % D;
        if (m0 + i >= T) continue;
        float sq = 0.f;
#pragma unroll
        for (int j = 0; j < Tr::kBlockN; ++j) sq = fmaf(dSs[i * kLdP + j], Ks[j * ld + d], sq);
        atomicAdd(dq_accum + head + static_cast<int64_t>(m0 + i) * D + d, sq);
      }
    }
  }  // query heads of the group
  __syncthreads();

  for (int e = threadIdx.x; e < Tr::kBlockN * D; e += blockDim.x) {
    const int key = n0 + e / D;
    if (key >= T) continue;
    const int64_t at = kv_head + static_cast<int64_t>(key) * D + e % D;
    dk[at] = dKs[e] * scale;
    dv[at] = dVs[e];
  }
}

}  // namespace

void launch_backward_f32(const float* dout, const float* q, const float* k, const float* v, const float* lse,
                         const float* dvec, float* dq_accum, float* dk, float* dv, const AttnDims& d,
                         cudaStream_t stream) {
  const size_t smem = smem_floats(d.D) * sizeof(float);
  allow_dynamic_smem(reinterpret_cast<const void*>(backward_f32_kernel), smem, "backward_f32_kernel");
  const dim3 grid = head_tile_grid(d.bh / d.group, (d.T + Tr::kBlockN - 1) / Tr::kBlockN, "backward_f32_kernel");
  backward_f32_kernel<<<grid, Tr::kThreads, smem, stream>>>(dout, q, k, v, lse, dvec, dq_accum, dk, dv, d.T, d.D,
                                                            d.scale, d.causal, d.H, d.group, d.gains);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
