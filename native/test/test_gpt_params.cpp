// Model configuration and layout (core/gpt_params.h): the canonical sizes for GPT-2 and the
// Llama switches, validate_config's messages, and init_parameters: a range written in chunks
// equals the same range written at once, norm weights 1, biases 0, matrices N(0, 0.02²).
#include <cmath>

#include "core/errors.h"
#include "core/gpt_params.h"
#include "test_util.h"

using namespace hgtest;

namespace {

hg::GPTConfig llama() {
  hg::GPTConfig c{100, 32, 3, 8, 64, 2, 96};  // V P L H C KV F: hs 8, QKV (8 + 4)·8 = 96 rows
  c.norm = hg::NormKind::RMSNorm;
  c.positions = hg::PosKind::Rope;
  c.mlp = hg::MlpKind::SwiGLU;
  c.qkv_bias = c.linear_bias = c.tied = false;
  return c;
}

void check_layout() {
  const hg::GPTConfig g{50257, 1024, 12, 12, 768};
  expect(hg::param_count(g) == 124439808, "GPT-2 small has 124439808 parameters (tied head, V 50257)");
  const hg::ParamLayout gl = hg::param_layout(g);
  expect(gl[hg::kLmhead].size == 0 && gl[hg::kQkvw].size == 12LL * 3 * 768 * 768, "GPT-2 qkvw and an empty lmhead");

  const hg::GPTConfig c = llama();
  const hg::ParamLayout l = hg::param_layout(c);
  const int64_t want[hg::kNumParamTensors] = {
      100 * 64, 0, 3 * 64, 0, 3 * 96 * 64, 0, 3 * 64 * 64, 0, 3 * 64, 0, 3 * 192 * 64, 0, 3 * 64 * 96, 0, 64, 0, 100 * 64};
  int64_t off = 0;
  for (int i = 0; i < hg::kNumParamTensors; ++i) {
    expect(l[i].size == want[i], std::string("llama ") + l[i].name + " size " + std::to_string(l[i].size));
    expect(l[i].offset == off, std::string("llama ") + l[i].name + " offset");
    off += l[i].size;
  }
  expect(hg::param_count(c) == off, "llama parameter count");
  hg::GPTConfig q = c;  // Qwen2: q/k/v biases only, tied head
  q.qkv_bias = q.tied = true;
  expect(hg::param_layout(q)[hg::kQkvb].size == 3 * 96 && hg::param_layout(q)[hg::kLmhead].size == 0, "qwen2 qkvb, tied");
  hg::GPTConfig q3 = c;  // Qwen3: head size 16 != 64/8, per-head q/k norms
  q3.D = 16;
  q3.qk_norm = hg::QkNormKind::Head;
  const hg::ParamLayout l3 = hg::param_layout(q3);
  expect(l3[hg::kQkvw].size == 3 * (8 + 4) * 16 * 64 && l3[hg::kAttprojw].size == 3 * 64 * 8 * 16, "qwen3 qkvw [L,(H+2KV)hs,C], attprojw [L,C,H·hs]");
  expect(l3[hg::kQnw].size == 3 * 16 && l3[hg::kKnw].size == 3 * 16 && l3[hg::kPostAttnw].size == 0, "qwen3 q/k norms [L,hs]");
  expect(l3[hg::kQnw].offset == l3[hg::kLmhead].offset + l3[hg::kLmhead].size, "the later switches' tensors come after lmhead");
  hg::GPTConfig o2 = c;  // OLMo 2: q/k norms over the projections, post norms only
  o2.qk_norm = hg::QkNormKind::Projection;
  o2.norm_place = hg::NormPlacement::Post;
  const hg::ParamLayout lo = hg::param_layout(o2);
  expect(lo[hg::kQnw].size == 3 * 64 && lo[hg::kKnw].size == 3 * 16 && lo[hg::kLn1w].size == 0 && lo[hg::kLn2w].size == 0 &&
             lo[hg::kPostAttnw].size == 3 * 64 && lo[hg::kPostFfnw].size == 3 * 64,
         "olmo2 q/k norms [L,H·hs], [L,KV·hs]; post norms replace ln1w, ln2w");
}

void check_rejects(hg::GPTConfig c, const std::string& needle) {
  try {
    hg::validate_config(c);
    expect(false, "validate_config accepted a bad config (" + needle + ")");
  } catch (const hg::Error& e) {
    expect(std::string(e.what()).find(needle) != std::string::npos, "message '" + std::string(e.what()) + "' names " + needle);
  }
}

void check_validate() {
  hg::validate_config(llama());
  {
    hg::GPTConfig d = llama();
    d.C = 60;  // not a multiple of heads, fine with a head size of its own
    d.D = 16;
    hg::validate_config(d);
    d.D = 300;
    check_rejects(d, "config.headDim");
    d = llama();
    d.norm = hg::NormKind::LayerNorm;
    d.norm_eps = 1e-5;
    d.qk_norm = hg::QkNormKind::Head;
    check_rejects(d, "config.qkNorm");
    d.qk_norm = hg::QkNormKind::None;
    d.norm_place = hg::NormPlacement::Both;
    check_rejects(d, "config.normPlacement");
  }
  hg::GPTConfig c = llama();
  c.KV = 3;
  check_rejects(c, "config.kvHeads");
  c = llama();
  c.C = 60;  // hs 7.5 -> not a multiple
  check_rejects(c, "config.dim");
  c = llama();
  c.C = 72;
  c.H = 8;
  c.KV = 8;  // hs 9: odd
  check_rejects(c, "'rope' needs an even head size");
  c = llama();
  c.norm = hg::NormKind::LayerNorm;
  c.norm_eps = 1e-6;
  check_rejects(c, "config.normEps");
  c = llama();
  c.positions = hg::PosKind::Learned;
  c.rope_scaling.type = hg::RopeScalingKind::Linear;
  check_rejects(c, "config.ropeScaling");
  c = llama();
  c.rope_scaling = {hg::RopeScalingKind::Llama3, 8.0, 4.0, 1.0, 64};
  check_rejects(c, "config.ropeScaling.highFreqFactor");
  c = llama();
  c.rope_theta = -1;
  check_rejects(c, "config.ropeTheta");
}

void check_init() {
  for (const hg::GPTConfig& c : {hg::GPTConfig{97, 40, 2, 4, 64}, llama()}) {
    const int64_t n = hg::param_count(c);
    std::vector<float> whole(n, NAN), chunked(n, NAN);
    hg::init_parameters(c, 11, 0, n, whole.data());
    for (int64_t b = 0; b < n; b += 997) hg::init_parameters(c, 11, b, std::min(n, b + 997), chunked.data() + b);
    expect(same_bits(whole, chunked), "init in chunks of 997 equals init at once");
    const hg::ParamLayout l = hg::param_layout(c);
    for (int i = 0; i < hg::kNumParamTensors; ++i) {
      const hg::ParamTensor& t = l[i];
      if (t.size == 0) continue;
      double sum = 0, sq = 0;
      for (int64_t e = 0; e < t.size; ++e) {
        sum += whole[t.offset + e];
        sq += double(whole[t.offset + e]) * whole[t.offset + e];
      }
      const bool norm_w = i == hg::kLn1w || i == hg::kLn2w || i == hg::kLnfw;
      if (norm_w) expect(sum == t.size && sq == t.size, std::string(t.name) + " is all ones");
      else if (!t.is_matrix) expect(sq == 0, std::string(t.name) + " is all zeros");
      else {
        const double sd = std::sqrt(sq / t.size - (sum / t.size) * (sum / t.size));
        const double want = (i == hg::kAttprojw || i == hg::kFcprojw) ? 0.02 / std::sqrt(2.0 * c.L) : 0.02;
        expect(std::fabs(sd - want) < 0.1 * want, std::string(t.name) + " std " + std::to_string(sd));
      }
    }
  }
}

}  // namespace

int main() {
  check_layout();
  check_validate();
  check_init();
  return finish("test_gpt_params");
}
