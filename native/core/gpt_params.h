// GPT-2 configuration and the canonical flat parameter layout, shared with the TypeScript
// checkpoint code (lib/checkpoint/layout.ts): llm.c's ParameterTensors order, weights [out,in].
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace hg {

struct GPTConfig {
  int64_t V = 0;  // vocabulary size
  int64_t P = 0;  // maximum sequence length (learned positions)
  int64_t L = 0;  // layers
  int64_t H = 0;  // heads
  int64_t C = 0;  // model width; head size hs = C / H
  int64_t hs() const { return C / H; }
};

// Throws a RangeError naming the field if the config cannot describe a model.
void validate_config(const GPTConfig& cfg);

enum ParamIndex {
  kWte, kWpe, kLn1w, kLn1b, kQkvw, kQkvb, kAttprojw, kAttprojb,
  kLn2w, kLn2b, kFcw, kFcb, kFcprojw, kFcprojb, kLnfw, kLnfb,
  kNumParamTensors
};

struct ParamTensor {
  const char* name;
  int64_t offset, size;
  bool is_matrix;  // a 2-D weight per layer (decayed by AdamW; see gpt_step.cpp)
};

using ParamLayout = std::array<ParamTensor, kNumParamTensors>;
ParamLayout param_layout(const GPTConfig& cfg);
int64_t param_count(const GPTConfig& cfg);

// GPT-2 initialisation, deterministic in `seed` and independent of the thread count:
// matrices ~ N(0, 0.02²) (attprojw and fcprojw, which feed the residual stream, scaled by
// 1/sqrt(2L)), biases 0, LayerNorm weights 1. Element i of tensor j draws two uniforms from
// splitmix64(key_j + 2i) and splitmix64(key_j + 2i + 1), key_j = splitmix64(seed ^ φ·(j+1)),
// and turns them into one normal by Box–Muller (the cosine branch).
std::vector<float> init_parameters(const GPTConfig& cfg, uint64_t seed);

}  // namespace hg
