// The AVX-512 register-blocked attention forward (cpu/attention_forward_avx512.cpp): the same
// contract as cpu::attention_forward (core/attention.h), which calls it when it applies (an
// AVX-512 build and D a multiple of 16; HEADGRAD_ATTENTION=portable turns it off).
#pragma once
#include "core/attention.h"
#include "core/errors.h"

namespace hg {
namespace cpu {
bool attention_forward_avx512_applies(const AttnShape& s);
void attention_forward_avx512(const float* q, const float* k, const float* v, float* out, float* lse,
                              const AttnShape& s, const AttnParams& p);
// The portable kernel, always available (tests and benchmarks compare the two).
void attention_forward_portable(const float* q, const float* k, const float* v, float* out, float* lse,
                                const AttnShape& s, const AttnParams& p);
}  // namespace cpu
}  // namespace hg
