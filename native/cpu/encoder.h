// Token + learned position embeddings (GPT-2's first layer).
#pragma once
#include <cstdint>

namespace hg {
namespace cpu {
// out [B,T,C] = wte[tokens[b,t]] + wpe[t];  tokens [B,T], wte [V,C], wpe [P,C] (P >= T) or null
// (no learned positions: out = wte rows)
void encoder_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe,
                     int64_t B, int64_t T, int64_t C);
// The same with the tables as bf16 bits (a bf16 model, core/ops.h Bf16WeightOps): the sum of the
// exactly widened values
void encoder_forward(float* out, const int32_t* tokens, const uint16_t* wte, const uint16_t* wpe,
                     int64_t B, int64_t T, int64_t C);
// dwte [V,C] +=, dwpe [P,C] += (or null);  dout [B,T,C]
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens,
                      int64_t B, int64_t T, int64_t C);
}  // namespace cpu
}  // namespace hg
