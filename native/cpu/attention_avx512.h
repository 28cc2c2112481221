// The AVX-512 register-blocked attention kernels (cpu/attention_forward_avx512.cpp,
// cpu/attention_backward_avx512.cpp): the same contract as cpu::attention_forward/backward
// (cpu/attention.h), which use them when attention_avx512_enabled (an AVX-512 build, D a
// multiple of 16, and HEADGRAD_ATTENTION is not "portable").
#pragma once
#include "cpu/attention.h"
#include "core/errors.h"

namespace hg {
namespace cpu {
bool attention_forward_avx512_applies(const AttnShape& s);  // the build and the shape allow it
bool attention_avx512_enabled(const AttnShape& s);          // ... and HEADGRAD_ATTENTION allows it
void attention_forward_avx512(const float* q, const float* k, const float* v, float* out, float* lse,
                              const AttnShape& s, const AttnParams& p);
// Stage 2 of the backward for keys [j0, j0+n) of one k/v head (n <= 64) and one query head:
// adds into dk, dv rows there (first: sets them) and into dq_part [T, D]. Head pointers: dout, q
// (the query head), k, v, dk, dv (its k/v head) [T, D]; lse, Drow [T]; gain: the query head's.
void attention_backward_key_block_avx512(const float* dout, const float* q, const float* k, const float* v,
                                         const float* lse, const float* Drow, float* dq_part, float* dk,
                                         float* dv, int64_t j0, int64_t n, int64_t T, int64_t D, bool causal,
                                         float scale, float gain, bool first);
// The portable kernels, always available (tests and benchmarks compare them with the above).
void attention_forward_portable(const float* q, const float* k, const float* v, float* out, float* lse,
                                const AttnShape& s, const AttnParams& p);
void attention_backward_portable(const float* dout, const float* q, const float* k, const float* v,
                                 const float* out, const float* lse, float* dq, float* dk, float* dv,
                                 float* head_score, const AttnShape& s, const AttnParams& p);
}  // namespace cpu
}  // namespace hg
