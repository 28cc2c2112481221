// Rotary position embedding tables (Hugging Face conventions), computed on the host in float64.
//
// Frequencies: inv_freq[i] = theta^(−2i/hs) for i < hs/2, then the scaling:
//   linear: inv_freq / factor;
//   llama3: wavelengths 2π/inv_freq longer than originalMaxPositions/lowFreqFactor are divided by
//           factor, shorter than originalMaxPositions/highFreqFactor are kept, and the band in
//           between interpolates: (1 − s)·inv_freq/factor + s·inv_freq with
//           s = (originalMaxPositions/wavelength − lowFreqFactor) / (highFreqFactor − lowFreqFactor).
//   longrope: inv_freq / factor_i per frequency, factor = longFactor for a pass that reaches past
//           originalMaxPositions, else shortFactor (RopeScaling::long_context).
// Tables: cos[p, i] = a·cos(p·inv_freq[i]), sin likewise, [P, hs/2] (the HF [P, hs] tables repeat
// them in both halves), a = attentionFactor under longrope, else 1. Applied with rotate_half:
// elements i and i + hs/2 of a head form a pair.
#pragma once
#include <cstdint>
#include <vector>

#include "core/gpt_params.h"

namespace hg {

// [hs/2]; long_factors selects longrope's long list (ignored by the other scalings)
std::vector<double> rope_inv_freq(const GPTConfig& cfg, bool long_factors = false);

// cos, sin: [positions, hs/2] each, for positions 0..positions-1
void rope_tables(const GPTConfig& cfg, int64_t positions, bool long_factors, std::vector<float>& cos,
                 std::vector<float>& sin);

}  // namespace hg
