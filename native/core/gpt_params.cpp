#include "core/gpt_params.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"
#include "core/thread_pool.h"

namespace hg {
namespace {

void check_field(const char* name, int64_t v, int64_t max) {
  HG_CHECK(v >= 1 && v <= max, std::string("config.") + name + ": expected an integer in [1, " +
                                   std::to_string(max) + "], got " + std::to_string(v));
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// A uniform in (0, 1) from 53 random bits (never 0, so log() is finite).
double uniform(uint64_t bits) { return (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53; }

}  // namespace

void validate_config(const GPTConfig& c) {
  check_field("vocabSize", c.V, int64_t{1} << 24);
  check_field("maxSeqLen", c.P, int64_t{1} << 20);
  check_field("layers", c.L, 1024);
  check_field("heads", c.H, 1024);
  check_field("dim", c.C, int64_t{1} << 16);
  HG_CHECK(c.D >= 0 && c.D <= 256, "config.headDim: expected an integer in [1, 256], got " + std::to_string(c.D));
  HG_CHECK(c.D > 0 || c.C % c.H == 0, "config.dim: expected a multiple of heads (" + std::to_string(c.H) +
                                          "), got " + std::to_string(c.C));
  HG_CHECK(c.hs() <= 256, "config.dim / config.heads: the head size must be at most 256, got " +
                              std::to_string(c.hs()));
  HG_CHECK(c.qk_norm == QkNormKind::None || c.norm == NormKind::RMSNorm, "config.qkNorm: needs norm 'rmsnorm'");
  HG_CHECK(c.window >= 0 && c.window <= (int64_t{1} << 20),
           "config.slidingWindow: expected an integer in [0, 1048576], got " + std::to_string(c.window));
  HG_CHECK(c.norm_place == NormPlacement::Pre || c.norm == NormKind::RMSNorm, "config.normPlacement: 'post' and 'both' need norm 'rmsnorm'");
  HG_CHECK(c.KV >= 0 && c.KV <= c.H && c.H % c.kv() == 0,
           "config.kvHeads: expected a divisor of heads (" + std::to_string(c.H) + "), got " + std::to_string(c.KV));
  HG_CHECK(c.F >= 0 && c.F <= (int64_t{1} << 20),
           "config.ffnDim: expected an integer in [1, 1048576], got " + std::to_string(c.F));
  HG_CHECK(std::isfinite(c.norm_eps) && c.norm_eps > 0 && c.norm_eps <= 1,
           "config.normEps: expected a number in (0, 1], got " + std::to_string(c.norm_eps));
  HG_CHECK(c.norm == NormKind::RMSNorm || c.norm_eps == 1e-5,
           "config.normEps: 'layernorm' supports only 1e-5 (GPT-2's epsilon), got " + std::to_string(c.norm_eps));
  HG_CHECK(std::isfinite(c.rope_theta) && c.rope_theta > 0 && c.rope_theta <= 1e12,
           "config.ropeTheta: expected a number in (0, 1e12], got " + std::to_string(c.rope_theta));
  HG_CHECK(c.positions == PosKind::Learned || c.hs() % 2 == 0,
           "config.positions: 'rope' needs an even head size, got dim/heads = " + std::to_string(c.hs()));
  HG_CHECK(c.local_layers.empty() || static_cast<int64_t>(c.local_layers.size()) == c.L,
           "config.layerTypes: expected one entry per layer (" + std::to_string(c.L) + "), got " +
               std::to_string(c.local_layers.size()));
  for (size_t l = 0; l < c.local_layers.size(); ++l)
    HG_CHECK(!c.local_layers[l] || c.window > 0,
             "config.layerTypes[" + std::to_string(l) + "]: 'local' needs slidingWindow > 0");
  HG_CHECK(c.rope_local_theta == 0 || (std::isfinite(c.rope_local_theta) && c.rope_local_theta > 0 &&
                                       c.rope_local_theta <= 1e12 && c.positions == PosKind::Rope),
           "config.ropeLocalTheta: expected a number in (0, 1e12] with positions 'rope', got " +
               std::to_string(c.rope_local_theta));
  HG_CHECK(c.norm_w_offset == 0 || (std::isfinite(c.norm_w_offset) && c.norm == NormKind::RMSNorm),
           "config.normWeightOffset: needs norm 'rmsnorm' and a finite number, got " + std::to_string(c.norm_w_offset));
  HG_CHECK(std::isfinite(c.embed_scale) && c.embed_scale > 0,
           "config.embedScale: expected a finite positive number, got " + std::to_string(c.embed_scale));
  for (const auto& [name, v] : {std::pair<const char*, double>{"attnSoftcap", c.attn_softcap},
                                {"finalSoftcap", c.final_softcap}, {"queryScale", c.query_scale}})
    HG_CHECK(std::isfinite(v) && v >= 0, std::string("config.") + name + ": expected 0 (off) or a finite positive number, got " +
                                             std::to_string(v));
  const RopeScaling& r = c.rope_scaling;
  if (r.type != RopeScalingKind::None) {
    HG_CHECK(c.positions == PosKind::Rope, "config.ropeScaling: needs positions 'rope'");
    HG_CHECK(std::isfinite(r.factor) && r.factor > 0 && r.factor <= 1e6,
             "config.ropeScaling.factor: expected a number in (0, 1e6], got " + std::to_string(r.factor));
  }
  if (r.type == RopeScalingKind::LongRope) {
    const size_t half = static_cast<size_t>(c.hs() / 2);
    for (const auto& [name, f] : {std::pair<const char*, const std::vector<double>*>{"shortFactor", &r.short_factor},
                                  {"longFactor", &r.long_factor}}) {
      HG_CHECK(f->size() == half, std::string("config.ropeScaling.") + name + ": expected " + std::to_string(half) +
                                      " numbers (head size / 2), got " + std::to_string(f->size()));
      for (size_t i = 0; i < half; ++i)
        HG_CHECK(std::isfinite((*f)[i]) && (*f)[i] > 0 && (*f)[i] <= 1e6,
                 std::string("config.ropeScaling.") + name + "[" + std::to_string(i) +
                     "]: expected a number in (0, 1e6], got " + std::to_string((*f)[i]));
    }
    HG_CHECK(std::isfinite(r.attention_factor) && r.attention_factor > 0 && r.attention_factor <= 1e6,
             "config.ropeScaling.attentionFactor: expected a number in (0, 1e6], got " +
                 std::to_string(r.attention_factor));
    HG_CHECK(r.original_max_positions >= 1,
             "config.ropeScaling.originalMaxPositions: expected a positive integer, got " +
                 std::to_string(r.original_max_positions));
  }
  if (r.type == RopeScalingKind::Llama3) {
    HG_CHECK(std::isfinite(r.low_freq_factor) && r.low_freq_factor > 0,
             "config.ropeScaling.lowFreqFactor: expected a positive number, got " + std::to_string(r.low_freq_factor));
    HG_CHECK(std::isfinite(r.high_freq_factor) && r.high_freq_factor > r.low_freq_factor,
             "config.ropeScaling.highFreqFactor: expected a number greater than lowFreqFactor, got " +
                 std::to_string(r.high_freq_factor));
    HG_CHECK(r.original_max_positions >= 1,
             "config.ropeScaling.originalMaxPositions: expected a positive integer, got " +
                 std::to_string(r.original_max_positions));
  }
}

ParamLayout param_layout(const GPTConfig& c) {
  const int64_t V = c.V, P = c.P, L = c.L, C = c.C, F = c.ffn(), QKV = c.qkv_rows(), FC = c.fc_rows();
  const int64_t QD = c.qdim(), KD = c.kv() * c.hs();
  const bool ln = c.norm == NormKind::LayerNorm, learned = c.positions == PosKind::Learned, lb = c.linear_bias;
  const bool pre = c.pre_norm(), post = c.post_norm(), head = c.qk_norm == QkNormKind::Head;
  const int64_t qn = c.qk_norm == QkNormKind::None ? 0 : L * (head ? c.hs() : QD);
  const int64_t kn = c.qk_norm == QkNormKind::None ? 0 : L * (head ? c.hs() : KD);
  const struct {
    const char* name;
    int64_t size;
    bool is_matrix;
  } spec[kNumParamTensors] = {
      {"wte", V * C, true},             {"wpe", learned ? P * C : 0, true},
      {"ln1w", pre ? L * C : 0, false}, {"ln1b", ln && pre ? L * C : 0, false},
      {"qkvw", L * QKV * C, true},      {"qkvb", c.qkv_bias ? L * QKV : 0, false},
      {"attprojw", L * C * QD, true},   {"attprojb", lb ? L * C : 0, false},
      {"ln2w", pre ? L * C : 0, false}, {"ln2b", ln && pre ? L * C : 0, false},
      {"fcw", L * FC * C, true},        {"fcb", lb ? L * FC : 0, false},
      {"fcprojw", L * C * F, true},     {"fcprojb", lb ? L * C : 0, false},
      {"lnfw", C, false},               {"lnfb", ln ? C : 0, false},
      {"lmhead", c.tied ? 0 : V * C, true},
      {"qnw", qn, false},               {"knw", kn, false},
      {"postattnw", post ? L * C : 0, false}, {"postffnw", post ? L * C : 0, false},
  };
  ParamLayout out{};
  int64_t offset = 0;
  for (int i = 0; i < kNumParamTensors; ++i) {
    out[i] = {spec[i].name, offset, spec[i].size, spec[i].is_matrix};
    offset += spec[i].size;
  }
  return out;
}

int64_t param_count(const GPTConfig& c) {
  const ParamLayout l = param_layout(c);
  return l[kNumParamTensors - 1].offset + l[kNumParamTensors - 1].size;
}

void init_parameters(const GPTConfig& c, uint64_t seed, int64_t begin, int64_t end, float* out) {
  const ParamLayout layout = param_layout(c);
  const float residual_std = 0.02f / std::sqrt(2.f * static_cast<float>(c.L));
  for (int j = 0; j < kNumParamTensors; ++j) {
    const ParamTensor& t = layout[j];
    // elements [i0, i1) of tensor j fall into the range
    const int64_t i0 = std::max<int64_t>(0, begin - t.offset), i1 = std::min(t.size, end - t.offset);
    if (i0 >= i1) continue;
    float* dst = out + (t.offset - begin);  // dst[i] is element i of tensor j
    if (is_norm_weight(j)) {  // an effective weight of 1: w = 1 − offset (Gemma's (1 + w) starts at w = 0)
      const float one = static_cast<float>(1.0 - c.norm_w_offset);
      for (int64_t i = i0; i < i1; ++i) dst[i] = one;
      continue;
    }
    if (!t.is_matrix) {  // biases are 0
      for (int64_t i = i0; i < i1; ++i) dst[i] = 0.f;
      continue;
    }
    const float stddev = (j == kAttprojw || j == kFcprojw) ? residual_std : 0.02f;
    const uint64_t key = splitmix64(seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(j + 1)));
    constexpr int64_t kChunk = 1 << 16;
    parallel_for((i1 - i0 + kChunk - 1) / kChunk, [&](int64_t chunk) {
      const int64_t lo = i0 + chunk * kChunk, hi = std::min(i1, lo + kChunk);
      for (int64_t i = lo; i < hi; ++i) {
        const double u1 = uniform(splitmix64(key + 2 * static_cast<uint64_t>(i)));
        const double u2 = uniform(splitmix64(key + 2 * static_cast<uint64_t>(i) + 1));
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
        dst[i] = static_cast<float>(stddev * z);
      }
    });
  }
}

}  // namespace hg
