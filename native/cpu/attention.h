// The CPU implementation of the fused attention contract (core/attention.h). Only the CPU ops
// table, the backend dispatch (core/dispatch.cpp) and the C++ tests call these directly.
#pragma once
#include "core/attention.h"

namespace hg {
namespace cpu {

void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse,
                       const AttnShape& s, const AttnParams& p);
// head_score may be null (capture off: used to measure the capture overhead).
void attention_backward(const float* dout, const float* q, const float* k, const float* v,
                        const float* out, const float* lse, float* dq, float* dk, float* dv,
                        float* head_score, const AttnShape& s, const AttnParams& p);

}  // namespace cpu
}  // namespace hg
