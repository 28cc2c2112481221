// Tile sizes and the inner loops shared by the CPU attention forward and backward.
//
// Every inner loop here is an axpy or an elementwise map over a contiguous run, so that GCC/Clang
// vectorise it with -march=native without -ffast-math (a dot-product loop would be a float
// reduction, which they may not reorder). Scores are therefore computed against a transposed
// key tile: s[j] += q[d] · kT[d][j], vectorised over j.
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
};

// Per-thread scratch: two transposed tiles and three score rows. Sized by D only, never by T.
struct AttnScratch {
  std::vector<float> kT, vT;  // [D, kBlockK]
  std::vector<float> s, p, dp;  // [kBlockK]
  static AttnScratch& for_this_thread(int64_t D) {
    thread_local AttnScratch w;
    const size_t tile = static_cast<size_t>(D * AttnTiles::kBlockK);
    if (w.kT.size() < tile) {
      w.kT.resize(tile);
      w.vT.resize(tile);
    }
    w.s.resize(AttnTiles::kBlockK);
    w.p.resize(AttnTiles::kBlockK);
    w.dp.resize(AttnTiles::kBlockK);
    return w;
  }
};

// x: [n, D] rows of one head  ->  xT: [D, kBlockK] (columns n.. are left untouched)
inline void load_transposed(const float* x, int64_t n, int64_t D, float* xT) {
  for (int64_t j = 0; j < n; ++j)
    for (int64_t d = 0; d < D; ++d) xT[d * AttnTiles::kBlockK + j] = x[j * D + d];
}

// q: [D], kT: [D, kBlockK]  ->  s[j] = scale · Σ_d q[d] kT[d][j]  for j < n
inline void row_scores(const float* q, const float* kT, int64_t n, int64_t D, float scale,
                       float* s) {
  std::fill(s, s + n, 0.f);
  for (int64_t d = 0; d < D; ++d) {
    const float qd = q[d];
    const float* kd = kT + d * AttnTiles::kBlockK;
    for (int64_t j = 0; j < n; ++j) s[j] += qd * kd[j];
  }
  for (int64_t j = 0; j < n; ++j) s[j] *= scale;
}

// y[0..D) += a · x[0..D)
inline void axpy(float a, const float* x, int64_t D, float* y) {
  for (int64_t d = 0; d < D; ++d) y[d] += a * x[d];
}

// e^x for x <= ~0 (scores minus a running max or minus lse), branch-free so loops over it
// vectorise: Cody–Waite reduction x = n·ln2 + r, |r| <= ln2/2, degree-6 Taylor polynomial
// (relative error ~1e-7, about one f32 ulp), 2^n built in the exponent bits. Underflows to 0
// below -87 instead of producing denormals.
inline float exp_tile(float x) {
  const float xc = std::min(std::max(x, -87.f), 88.f);
  const float n = std::floor(xc * 1.44269504f + 0.5f);
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

// Keys of the tile starting at j0 that query row i may see: all n, or j0..i when causal.
inline int64_t visible_keys(bool causal, int64_t i, int64_t j0, int64_t n) {
  return causal ? std::min(n, i - j0 + 1) : n;
}

}  // namespace cpu
}  // namespace hg
