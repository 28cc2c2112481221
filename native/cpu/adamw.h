// AdamW with bias-corrected moments and decoupled weight decay, over spans of a flat
// parameter array (the spans are how frozen parameters are skipped).
#pragma once
#include <cstdint>

#include "core/ops.h"

namespace hg {
namespace cpu {
// Σ g² over grads[span] for every span, in double, in a fixed order.
double sum_squares(const float* grads, const ParamSpan* spans, int64_t nspans);
// params, grads, m, v: flat arrays indexed by span offsets; only spans are read or written.
void adamw(float* params, const float* grads, float* m, float* v, const ParamSpan* spans,
           int64_t nspans, const AdamWParams& hp);
}  // namespace cpu
}  // namespace hg
