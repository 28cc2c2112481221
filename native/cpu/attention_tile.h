// Tile sizes and the inner loops shared by the CPU attention forward and backward.
//
// Every inner loop here is an axpy, an elementwise map or a lane-wise reduction over a contiguous
// run, so that GCC/Clang vectorise it with -march=native without -ffast-math (a dot-product loop
// would be a serial float reduction, which they may not reorder). Scores are therefore computed
// against a transposed key tile: s[j] += q[d] · kT[d][j], vectorised over j.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace hg {
namespace cpu {

struct AttnTiles {
  // Query rows per work item and keys per tile. 64×64 keeps a transposed K and V tile
  // (2 · D · 64 floats, 128 KiB at D = 256) in L2 while a block of rows streams past it.
  static constexpr int64_t kBlockQ = 64;
  static constexpr int64_t kBlockK = 64;
  // Query rows whose dk/dv contributions are summed together before touching dk/dv rows.
  static constexpr int64_t kRowGroup = 4;
};

// Per-thread scratch: two transposed tiles and a few score rows. Sized by D only, never by T.
struct AttnScratch {
  std::vector<float> kT, vT;  // [D, kBlockK]
  std::vector<float> s;       // [kBlockK]
  std::vector<float> p, ds;   // [kRowGroup, kBlockK]
  static AttnScratch& for_this_thread(int64_t D) {
    thread_local AttnScratch w;
    const size_t tile = static_cast<size_t>(D * AttnTiles::kBlockK);
    if (w.kT.size() < tile) {
      w.kT.resize(tile);
      w.vT.resize(tile);
    }
    w.s.resize(AttnTiles::kBlockK);
    w.p.resize(AttnTiles::kRowGroup * AttnTiles::kBlockK);
    w.ds.resize(AttnTiles::kRowGroup * AttnTiles::kBlockK);
    return w;
  }
};

// x: [n, D] rows of one head  ->  xT: [D, kBlockK], columns n.. zeroed so that the score loops
// can always run the full, compile-time tile width.
inline void load_transposed(const float* x, int64_t n, int64_t D, float* xT) {
  constexpr int64_t BK = AttnTiles::kBlockK;
  for (int64_t d = 0; d < D; ++d)
    for (int64_t j = n; j < BK; ++j) xT[d * BK + j] = 0.f;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t d = 0; d < D; ++d) xT[d * BK + j] = x[j * D + d];
}

// Eight floats as one GCC/Clang vector value: a 256-bit register with AVX, two 128-bit ones
// with SSE or NEON. Used where the auto-vectoriser keeps accumulators in memory.
using f32x8 = float __attribute__((vector_size(32)));
inline f32x8 load8(const float* p) {
  f32x8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(float* p, f32x8 v) { std::memcpy(p, &v, sizeof v); }

// q: [D], kT: [D, kBlockK]  ->  s[j] = scale · Σ_d q[d] kT[d][j]  for all j < kBlockK.
// The kBlockK accumulators live in registers (8 vectors) for the whole pass over d.
inline void row_scores(const float* q, const float* kT, int64_t D, float scale, float* s) {
  constexpr int64_t BK = AttnTiles::kBlockK, kVecs = BK / 8;
  static_assert(BK % 8 == 0, "kBlockK must be a multiple of 8");
  f32x8 acc[kVecs] = {};
  for (int64_t d = 0; d < D; ++d) {
    const float qd = q[d];
    const float* kd = kT + d * BK;
#pragma GCC unroll 8
    for (int64_t v = 0; v < kVecs; ++v) acc[v] += qd * load8(kd + 8 * v);
  }
#pragma GCC unroll 8
  for (int64_t v = 0; v < kVecs; ++v) store8(s + 8 * v, acc[v] * scale);
}

// y[0..D) += Σ_{r<n} c[r·cstride] · x[r·xstride + 0..D), four terms per pass over y, so that y
// is loaded and stored once per four rows of x instead of once per row.
inline void accumulate_rows(const float* c, int64_t cstride, const float* x, int64_t xstride,
                            int64_t n, int64_t D, float* y) {
  int64_t r = 0;
  for (; r + 4 <= n; r += 4) {
    const float c0 = c[r * cstride], c1 = c[(r + 1) * cstride], c2 = c[(r + 2) * cstride],
                c3 = c[(r + 3) * cstride];
    const float *x0 = x + r * xstride, *x1 = x0 + xstride, *x2 = x1 + xstride, *x3 = x2 + xstride;
    for (int64_t d = 0; d < D; ++d) y[d] += c0 * x0[d] + c1 * x1[d] + c2 * x2[d] + c3 * x3[d];
  }
  for (; r < n; ++r) {
    const float cr = c[r * cstride];
    const float* xr = x + r * xstride;
    for (int64_t d = 0; d < D; ++d) y[d] += cr * xr[d];
  }
}

// e^x for x <= ~0 (scores minus a running max or minus lse), branch-free so loops over it
// vectorise: Cody–Waite reduction x = n·ln2 + r, |r| <= ln2/2, degree-6 Taylor polynomial
// (relative error ~1e-7, about one f32 ulp), 2^n built in the exponent bits. n is rounded with
// the 1.5·2^23 trick rather than floor(), which not every target vectorises. Underflows to 0
// below -87 (including -inf) instead of producing denormals.
inline float exp_tile(float x) {
  const float xc = std::min(std::max(x, -87.f), 88.f);
  constexpr float kRound = 12582912.f;  // 1.5·2^23: adding it rounds to an integer
  const float n = (xc * 1.44269504f + kRound) - kRound;
  const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float e = 1.f / 720;
  e = e * r + 1.f / 120;
  e = e * r + 1.f / 24;
  e = e * r + 1.f / 6;
  e = e * r + 0.5f;
  e = e * r + 1.f;
  e = e * r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return x < -87.f ? 0.f : e * two_n;
}

// Attention-logit soft-capping (Gemma 2) over a full score row: s <- cap·tanh(s/cap). Masked
// entries are overwritten after it. std::tanh: this runs only for capped models, on the portable
// kernels.
inline void soft_cap(float* s, float cap) {
  const float inv = 1.f / cap;
  for (int64_t j = 0; j < AttnTiles::kBlockK; ++j) s[j] = cap * std::tanh(s[j] * inv);
}

// Reductions over a full score row, in kLanes independent lanes combined in a fixed order at the
// end: a plain running max/sum is a serial dependency chain the compiler may not reorder.
constexpr int64_t kLanes = 8;

inline float tile_max(const float* s) {
  float lane[kLanes];
  std::copy(s, s + kLanes, lane);
  for (int64_t j = kLanes; j < AttnTiles::kBlockK; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lane[l] = std::max(lane[l], s[j + l]);
  return *std::max_element(lane, lane + kLanes);
}

inline float tile_sum(const float* s) {
  float lane[kLanes] = {};
  for (int64_t j = 0; j < AttnTiles::kBlockK; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lane[l] += s[j + l];
  float sum = 0.f;
  for (int64_t l = 0; l < kLanes; ++l) sum += lane[l];
  return sum;
}

// Keys of the tile starting at j0 that query row i may see: all n, or j0..i when causal.
inline int64_t visible_keys(bool causal, int64_t i, int64_t j0, int64_t n) {
  return causal ? std::min(n, i - j0 + 1) : n;
}

// The first of them under a sliding window (keys i − window + 1 ..): tile entries before it are
// masked. 0 without a window.
inline int64_t first_visible_key(int64_t window, int64_t i, int64_t j0) {
  return window > 0 ? std::max<int64_t>(0, i - window + 1 - j0) : 0;
}

}  // namespace cpu
}  // namespace hg
