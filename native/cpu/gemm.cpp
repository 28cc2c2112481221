// CPU gemm: a packed, cache-blocked kernel (GotoBLAS structure: pack an MC×KC block of op(A)
// and a KC×NC block of op(B) into contiguous panels, then run an MR×NR register-tiled micro
// kernel over them), and the OpenBLAS path when it is linked.
//
// Threads: C is cut into column blocks (and row ranges when there are few columns); each is one
// parallel_for item that walks K in a fixed order, so results do not depend on the schedule.
#include "cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/thread_pool.h"

#ifdef HEADGRAD_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace hg {
namespace cpu {
namespace {

// Register tile: MR rows × NR columns held in 2·MR vector accumulators; with one broadcast and
// two B vectors that is 15 of the 16 (AVX2) or 32 (AVX-512) vector registers.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
constexpr int MR = 6;
constexpr int NR = 2 * kLanes;
// Cache blocks: a packed B block (KC×NC floats = 128 KiB) and A block (MC×KC = 96 KiB) sit in
// L2, one A panel (MR×KC) in L1.
constexpr int64_t MC = 96;
constexpr int64_t NC = 128;
constexpr int64_t KC = 256;

typedef float vecf __attribute__((vector_size(kLanes * sizeof(float))));

inline vecf loadv(const float* p) {
  vecf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storev(float* p, vecf v) { std::memcpy(p, &v, sizeof v); }

// Element (i, k) of op(X) for a row-major X with leading dimension ld.
inline float elem(const float* X, int64_t ld, bool trans, int64_t i, int64_t k) {
  return trans ? X[k * ld + i] : X[i * ld + k];
}

// dst: ceil(mc/MR) panels, each [kc][MR] (rows past mc are zero).
void pack_a(float* dst, const float* A, int64_t lda, bool trans, int64_t i0, int64_t mc, int64_t k0,
            int64_t kc) {
  for (int64_t ip = 0; ip < mc; ip += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - ip);
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t r = 0; r < MR; ++r) *dst++ = r < rows ? elem(A, lda, trans, i0 + ip + r, k0 + k) : 0.f;
    }
  }
}

// dst: ceil(nc/NR) panels, each [kc][NR] (columns past nc are zero). op(B)(k, j) is B[k,j],
// or B[j,k] when trans.
void pack_b(float* dst, const float* B, int64_t ldb, bool trans, int64_t k0, int64_t kc, int64_t j0,
            int64_t nc) {
  for (int64_t jp = 0; jp < nc; jp += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - jp);
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t c = 0; c < NR; ++c) {
        *dst++ = c < cols ? (trans ? B[(j0 + jp + c) * ldb + k0 + k] : B[(k0 + k) * ldb + j0 + jp + c]) : 0.f;
      }
    }
  }
}

// acc[MR][NR] = Σ_k a[k][r] · b[k][c] over one packed A panel and one packed B panel.
inline void micro_kernel(int64_t kc, const float* a, const float* b, float acc[MR][NR]) {
  vecf c[MR][2] = {};
  for (int64_t k = 0; k < kc; ++k, a += MR, b += NR) {
    const vecf b0 = loadv(b), b1 = loadv(b + kLanes);
    for (int r = 0; r < MR; ++r) {
      c[r][0] += a[r] * b0;
      c[r][1] += a[r] * b1;
    }
  }
  for (int r = 0; r < MR; ++r) {
    storev(acc[r], c[r][0]);
    storev(acc[r] + kLanes, c[r][1]);
  }
}

struct GemmArgs {
  bool ta, tb;
  int64_t M, N, K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
};

// C rows [i_begin, i_end) × columns [j0, j0 + NC), all of K. Each KC×NC block of op(B) is
// packed once and reused for every MC block of rows, which is what makes packing cheap.
void gemm_block(const GemmArgs& g, int64_t i_begin, int64_t i_end, int64_t j0) {
  thread_local std::vector<float> apack, bpack;
  const int64_t nc = std::min(NC, g.N - j0);
  apack.resize(static_cast<size_t>(((MC + MR - 1) / MR) * MR * KC));
  bpack.resize(static_cast<size_t>(((nc + NR - 1) / NR) * NR * KC));
  float acc[MR][NR];
  for (int64_t k0 = 0; k0 < g.K; k0 += KC) {
    const int64_t kc = std::min(KC, g.K - k0);
    // The first K block applies beta; later blocks add onto what the first wrote.
    const float beta = k0 == 0 ? g.beta : 1.f;
    pack_b(bpack.data(), g.B, g.ldb, g.tb, k0, kc, j0, nc);
    for (int64_t i0 = i_begin; i0 < i_end; i0 += MC) {
      const int64_t mc = std::min(MC, i_end - i0);
      pack_a(apack.data(), g.A, g.lda, g.ta, i0, mc, k0, kc);
      for (int64_t jp = 0; jp < nc; jp += NR) {
        const int64_t cols = std::min<int64_t>(NR, nc - jp);
        for (int64_t ip = 0; ip < mc; ip += MR) {
          const int64_t rows = std::min<int64_t>(MR, mc - ip);
          micro_kernel(kc, apack.data() + ip * kc, bpack.data() + jp * kc, acc);
          for (int64_t r = 0; r < rows; ++r) {
            float* crow = g.C + (i0 + ip + r) * g.ldc + j0 + jp;
            for (int64_t c = 0; c < cols; ++c) {
              const float prev = beta == 0.f ? 0.f : beta * crow[c];
              crow[c] = prev + g.alpha * acc[r][c];
            }
          }
        }
      }
    }
  }
}

// Work items: column blocks of NC, and when there are too few of those to feed every thread
// twice, row ranges (whole MC blocks) as well. Every C element is still computed by one item
// in a fixed K order, so the result does not depend on the split.
void gemm_blocked(const GemmArgs& g) {
  const int64_t col_blocks = (g.N + NC - 1) / NC, row_blocks = (g.M + MC - 1) / MC;
  const int64_t want = 2 * num_threads();
  const int64_t row_splits = std::min(row_blocks, std::max<int64_t>(1, (want + col_blocks - 1) / col_blocks));
  const int64_t rows_per_split = ((row_blocks + row_splits - 1) / row_splits) * MC;
  parallel_for(col_blocks * row_splits, [&](int64_t t) {
    const int64_t i_begin = (t / col_blocks) * rows_per_split;
    if (i_begin >= g.M) return;
    gemm_block(g, i_begin, std::min(g.M, i_begin + rows_per_split), (t % col_blocks) * NC);
  }, g.M * g.N * g.K / 16);
}

// K == 0: op(A)·op(B) is the zero matrix, so C = beta·C.
void scale_c(const GemmArgs& g) {
  for (int64_t i = 0; i < g.M; ++i)
    for (int64_t j = 0; j < g.N; ++j) g.C[i * g.ldc + j] = g.beta == 0.f ? 0.f : g.beta * g.C[i * g.ldc + j];
}

#ifdef HEADGRAD_WITH_OPENBLAS
void gemm_blas(const GemmArgs& g) {
  // OpenBLAS keeps its own threads; size them like ours, once. Calls from two AsyncWorkers
  // take turns, as parallel_for jobs do, instead of running two thread teams on the cores.
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(num_threads()); });
  static std::mutex one_at_a_time;
  std::lock_guard<std::mutex> lock(one_at_a_time);
  cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(g.M), static_cast<int>(g.N), static_cast<int>(g.K), g.alpha, g.A,
              static_cast<int>(g.lda), g.B, static_cast<int>(g.ldb), g.beta, g.C,
              static_cast<int>(g.ldc));
}
#endif

}  // namespace

bool gemm_impl_available(GemmImpl impl) {
#ifdef HEADGRAD_WITH_OPENBLAS
  return true;
#else
  return impl == GemmImpl::Blocked;
#endif
}

const char* gemm_impl_name(GemmImpl impl) { return impl == GemmImpl::Blas ? "openblas" : "blocked"; }

void gemm_with(GemmImpl impl, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
               float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
               float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const GemmArgs g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
  if (K == 0) return scale_c(g);
#ifdef HEADGRAD_WITH_OPENBLAS
  if (impl == GemmImpl::Blas) return gemm_blas(g);
#else
  if (impl == GemmImpl::Blas) throw_error("gemm: this build has no OpenBLAS");
#endif
  gemm_blocked(g);
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  gemm_with(default_gemm_impl(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace cpu
}  // namespace hg
