// AVX-512 helpers shared by the bf16 kernels' packing (cpu/gemm_bf16_avx512.cpp: vdpbf16ps;
// cpu/gemm_bf16_amx.cpp: AMX tiles): rounding f32 to bf16, pairing k values into 32-bit words,
// and a 16×16 word transpose. Include it only inside an anonymous namespace of a file compiled
// for an AVX512-BF16 target (the #pragma GCC target of those files), so that each file gets its
// own internal copy and no AVX-512 code can be picked by the linker for the rest of the program.
#pragma once

inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline __mmask16 lanes(int64_t n) { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }

// 16 f32 -> bf16 bits in the low half of each 32-bit lane: nearest even, NaN stays a quiet NaN
// (the same rounding as cpu::to_bf16, so the operands are the ones the reference rounds).
inline __m512i round16(__m512 x) {
  const __m512i u = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), 16);
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
}

// Words from two rows of 16 values each: word c = lo[c] | hi[c] << 16 (f32 rounded to bf16, or
// bf16 bits as they are).
inline __m512i pair_rows(const float* lo, const float* hi, __mmask16 m) {
  const __m512i l = round16(_mm512_maskz_loadu_ps(m, lo));
  const __m512i h = hi ? round16(_mm512_maskz_loadu_ps(m, hi)) : _mm512_setzero_si512();
  return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}
inline __m512i pair_rows(const uint16_t* lo, const uint16_t* hi, __mmask16 m) {
  const __m512i l = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, lo));
  const __m512i h = hi ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, hi)) : _mm512_setzero_si512();
  return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}

// 32 contiguous values (n of them valid) -> 16 words of consecutive pairs. bf16 pairs are already
// words: a masked load of 32 halves.
inline __m512i pairs_along(const float* p, int64_t n) {
  const __m256i lo = _mm512_cvtepi32_epi16(round16(_mm512_maskz_loadu_ps(lanes(n), p)));
  const __m256i hi = _mm512_cvtepi32_epi16(round16(_mm512_maskz_loadu_ps(lanes(n - 16), p + 16)));
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline __m512i pairs_along(const uint16_t* p, int64_t n) {
  const __mmask32 m = n >= 32 ? __mmask32(0xffffffffu) : __mmask32((1u << n) - 1);
  return _mm512_maskz_loadu_epi16(m, p);
}

// r[16] rows of 16 words -> out[m] = word m of every row (lane g = row g).
inline void transpose16(const __m512i r[16], __m512i out[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {  // t[2i], t[2i+1]: words {0,1}, {2,3} of each 128-bit lane, rows 2i and 2i+1 interleaved
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // u[4i + w], lane l: word 4l + w of rows 4i .. 4i+3
    u[4 * i + 0] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
  }
  for (int w = 0; w < 4; ++w) {  // gather lane l of u[w], u[4+w], u[8+w], u[12+w] into word 4l + w
    const __m512i v = _mm512_shuffle_i32x4(u[w], u[4 + w], 0x88), v1 = _mm512_shuffle_i32x4(u[w], u[4 + w], 0xdd);
    const __m512i x = _mm512_shuffle_i32x4(u[8 + w], u[12 + w], 0x88), x1 = _mm512_shuffle_i32x4(u[8 + w], u[12 + w], 0xdd);
    out[w] = _mm512_shuffle_i32x4(v, x, 0x88);
    out[8 + w] = _mm512_shuffle_i32x4(v, x, 0xdd);
    out[4 + w] = _mm512_shuffle_i32x4(v1, x1, 0x88);
    out[12 + w] = _mm512_shuffle_i32x4(v1, x1, 0xdd);
  }
}

// Rows along k -> pair words in [q][stride] order: rows[g] (g < n_rows; the others are 0) holds
// kc values from k = 0; dst[q·stride + g] = word q of row g, for every q < ceil(kc/2). `load`
// gives the 16 words of row g starting at pair q0 (values past kc are 0).
template <class Load>
inline void transpose_pack(uint32_t* dst, int64_t stride, int n_rows, int64_t kc, Load load) {
  const int64_t kp = (kc + 1) / 2;
  const __mmask16 store = lanes(stride < 16 ? stride : 16);
  for (int64_t q0 = 0; q0 < kp; q0 += 16) {
    __m512i r[16], out[16];
    for (int g = 0; g < 16; ++g) r[g] = g < n_rows ? load(g, q0) : _mm512_setzero_si512();
    transpose16(r, out);
    const int64_t n = min64(16, kp - q0);
    for (int64_t q = 0; q < n; ++q) _mm512_mask_storeu_epi32(dst + (q0 + q) * stride, store, out[q]);
  }
}

