// Stage 2 of the attention backward (cpu/attention_backward.cpp) built like a GEMM, for
// AVX-512 and head sizes D that are multiples of 16: one key block of BK keys, its K and V packed
// once into transposed tiles, against every query row that sees it, in query blocks of QB rows.
// Per register tile of RQ query rows (cpu/attention_avx512_kernels.h):
//   S  = scale · q kᵀ, dP = dout vᵀ          two RQ×BK score tiles in registers over d
//   P  = exp(S − lse),  dS = scale · P ∘ (dP − D)     (forward: P = softmax_row(S))
//   (both times the query head's gain, core/attention.h: dout counts gain times)
//   dq[i] += Σ_j dS[i][j] · k[j]             RQ rows × D in registers over the block's keys
// and after each query block, over its QB rows at once (RQ keys × D in registers):
//   dv[j] += Σ_i P[i][j] · dout[i]           forward: out = P v
//   dk[j] += Σ_i dS[i][j] · q[i]             forward: S = scale · q kᵀ
// so dk and dv are loaded and stored once per query block instead of once per row group.
// Rows past T and keys past the block are computed on clamped or masked inputs and never
// stored. The order of every sum depends only on the shape, so results do not depend on the
// thread count.
#include "cpu/attention_avx512.h"

#include <limits>
#include <vector>

#include "cpu/attention_tile.h"

#if defined(__AVX512F__)
#include "cpu/attention_avx512_kernels.h"
#endif

namespace hg {
namespace cpu {

#if defined(__AVX512F__)

static_assert(avx512::Tiles::BK == AttnTiles::kBlockK, "the backward's key blocks are AttnTiles::kBlockK keys");

void attention_backward_key_block_avx512(const float* dout, const float* q, const float* k, const float* v,
                                         const float* lse, const float* Drow, float* dq_part, float* dk,
                                         float* dv, int64_t j0, int64_t n, int64_t T, int64_t D, bool causal,
                                         float scale, float gain, bool first) {
  using namespace avx512;
  constexpr int64_t RQ = Tiles::RQ, BK = Tiles::BK, QB = Tiles::kBlockQ;
  const float kNegInf = -std::numeric_limits<float>::infinity();
  thread_local std::vector<float> Kt, Vt, P, dS, dummy;
  Kt.resize(static_cast<size_t>(D * BK));
  Vt.resize(static_cast<size_t>(D * BK));
  P.resize(static_cast<size_t>(QB * BK));
  dS.resize(static_cast<size_t>(QB * BK));
  dummy.resize(static_cast<size_t>(RQ * D));
  pack_k(k + j0 * D, n, D, Kt.data());
  pack_k(v + j0 * D, n, D, Vt.data());
  if (first) {  // the first query head of the k/v group starts dk/dv; later ones add
    std::fill(dk + j0 * D, dk + (j0 + n) * D, 0.f);
    std::fill(dv + j0 * D, dv + (j0 + n) * D, 0.f);
  }
  for (int64_t i0 = causal ? j0 : 0; i0 < T; i0 += QB) {
    const int64_t rows = std::min(QB, T - i0);
    for (int64_t g = 0; g < rows; g += RQ) {
      const float *qr[RQ], *dr[RQ];
      float* dqr[RQ];
      int64_t row[RQ];
      for (int64_t r = 0; r < RQ; ++r) {
        const bool valid = g + r < rows;
        row[r] = i0 + std::min(g + r, rows - 1);  // rows past the end repeat the last one
        qr[r] = q + row[r] * D;
        dr[r] = dout + row[r] * D;
        dqr[r] = valid ? dq_part + row[r] * D : dummy.data() + r * D;
      }
      __m512 s[RQ][KV], dp[RQ][KV];
      scores(qr, Kt.data(), D, scale, s);
      scores(dr, Vt.data(), D, 1.f, dp);
      for (int64_t r = 0; r < RQ; ++r) {
        const int64_t nv = g + r >= rows ? 0 : causal ? std::min(n, row[r] - j0 + 1) : n;
        const __m512 l = _mm512_set1_ps(lse[row[r]]), Dr = _mm512_set1_ps(Drow[row[r]]);
        const __m512 gv = _mm512_set1_ps(gain), gsc = _mm512_set1_ps(gain * scale);
        for (int64_t vv = 0; vv < KV; ++vv) {
          const int64_t left = std::max<int64_t>(0, std::min<int64_t>(16, nv - 16 * vv));
          const __mmask16 keep = static_cast<__mmask16>(left == 16 ? 0xffff : (1u << left) - 1);
          const __m512 sm = _mm512_mask_blend_ps(keep, _mm512_set1_ps(kNegInf), s[r][vv]);
          const __m512 pv = exp16(_mm512_sub_ps(sm, l));  // masked keys: e^-inf = 0
          const __m512 ds = _mm512_mul_ps(_mm512_mul_ps(pv, _mm512_sub_ps(dp[r][vv], Dr)), gsc);
          _mm512_storeu_ps(&P[(g + r) * BK + 16 * vv], _mm512_mul_ps(gv, pv));
          _mm512_storeu_ps(&dS[(g + r) * BK + 16 * vv], ds);
        }
      }
      rows_axpy(dqr, nullptr, &dS[g * BK], BK, 1, k + j0 * D, D, n, D);
    }
    for (int64_t jj = 0; jj < n; jj += RQ) {
      float *dvr[RQ], *dkr[RQ];
      for (int64_t kk = 0; kk < RQ; ++kk) {
        const bool valid = jj + kk < n;  // keys past the block: P and dS columns are 0 there
        dvr[kk] = valid ? dv + (j0 + jj + kk) * D : dummy.data() + kk * D;
        dkr[kk] = valid ? dk + (j0 + jj + kk) * D : dummy.data() + kk * D;
      }
      rows_axpy(dvr, nullptr, &P[jj], 1, BK, dout + i0 * D, D, rows, D);
      rows_axpy(dkr, nullptr, &dS[jj], 1, BK, q + i0 * D, D, rows, D);
    }
  }
}

#else

void attention_backward_key_block_avx512(const float*, const float*, const float*, const float*, const float*,
                                         const float*, float*, float*, float*, int64_t, int64_t, int64_t, int64_t,
                                         bool, float, float, bool) {
  throw_error("attention_backward_key_block_avx512: this build has no AVX-512");
}

#endif

}  // namespace cpu
}  // namespace hg
