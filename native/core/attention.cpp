#include "core/attention.h"

#include <cmath>

#include "core/errors.h"

namespace hg {

static void check_dim(const char* name, int64_t v) {
  HG_CHECK(v >= 1, std::string("attention shape.") + name + ": expected a positive integer, got " +
                       std::to_string(v));
}

void validate_attention(const AttnShape& s, const AttnParams& p) {
  check_dim("batch", s.B);
  check_dim("heads", s.H);
  check_dim("seqLen", s.T);
  check_dim("headDim", s.D);
  HG_CHECK(s.KV >= 0 && s.KV <= s.H && s.H % s.kv() == 0,
           "attention shape.kvHeads: expected a divisor of heads (" + std::to_string(s.H) + "), got " +
               std::to_string(s.KV));
  HG_CHECK(s.D <= kMaxHeadDim, "attention shape.headDim: expected at most " +
                                   std::to_string(kMaxHeadDim) + ", got " + std::to_string(s.D));
  HG_CHECK(p.window >= 0 && (p.window == 0 || p.causal),
           "attention window: expected 0 or a positive window with causal attention, got " + std::to_string(p.window) +
               (p.causal ? "" : " (not causal)"));
  HG_CHECK(std::isfinite(p.softcap) && p.softcap >= 0.f,
           "attention softcap: expected 0 (none) or a finite positive number, got " + std::to_string(p.softcap));
  // 0 selects the default 1/sqrt(headDim); a negative scale would flip the softmax.
  HG_CHECK(std::isfinite(p.scale) && p.scale >= 0.f,
           "attention scale: expected a finite positive number (or 0 for 1/sqrt(headDim)), got " +
               std::to_string(p.scale));
}

}  // namespace hg
