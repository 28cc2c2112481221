// Model configuration and the canonical flat parameter layout, shared with the TypeScript
// checkpoint code (lib/checkpoint/layout.ts): llm.c's ParameterTensors order, weights [out,in].
//
// One engine, a few switches: every field past C has a default that gives exactly GPT-2, so
// GPTConfig{V, P, L, H, C} is the GPT-2 model it always was. The Llama family sets RMSNorm,
// RoPE, SwiGLU, grouped-query attention (KV < H), no biases and an untied LM head; Qwen2 keeps
// the q/k/v biases.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace hg {

enum class NormKind { LayerNorm, RMSNorm };
enum class PosKind { Learned, Rope };
// GeGLU: the gated MLP of Gemma, gelu (tanh) on the gate instead of SwiGLU's silu.
enum class MlpKind { Gelu, SwiGLU, GeGLU };
enum class RopeScalingKind { None, Linear, Llama3, LongRope };
// RMSNorm of q and k after their projection, before RoPE: per head (Qwen3, Gemma 3) or over
// the whole q and k projections (OLMo 2).
enum class QkNormKind { None, Head, Projection };
// Where each sublayer's norm sits: before it (GPT-2, Llama), after it, before its residual add
// (OLMo 2), or both (Gemma 2 and 3).
enum class NormPlacement { Pre, Post, Both };

struct RopeScaling {
  RopeScalingKind type = RopeScalingKind::None;
  double factor = 1.0;                                    // linear, llama3
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3 only
  int64_t original_max_positions = 8192;                  // llama3, longrope
  // longrope (Phi-3 128k, Phi-3.5): one divisor per frequency, [hs/2] each; the long list when
  // a pass reaches past original_max_positions (long_context()), else the short one. cos and
  // sin are multiplied by attention_factor.
  std::vector<double> short_factor, long_factor;
  double attention_factor = 1.0;
  // A pass over positions [0, end) uses the long factors (Hugging Face: max(position_ids) + 1 >
  // original_max_position_embeddings).
  bool long_context(int64_t end) const { return type == RopeScalingKind::LongRope && end > original_max_positions; }
};

struct GPTConfig {
  int64_t V = 0;  // vocabulary size
  int64_t P = 0;  // maximum sequence length
  int64_t L = 0;  // layers
  int64_t H = 0;  // query heads
  int64_t C = 0;  // model width; head size hs() = D, or C / H
  int64_t KV = 0;  // key/value heads, divides H; 0 = H (multi-head attention)
  int64_t F = 0;   // MLP hidden size; 0 = 4C
  NormKind norm = NormKind::LayerNorm;
  double norm_eps = 1e-5;
  PosKind positions = PosKind::Learned;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  MlpKind mlp = MlpKind::Gelu;
  bool qkv_bias = true;     // biases on the q/k/v projections
  bool linear_bias = true;  // biases on the attention output projection and the MLP linears
  bool tied = true;         // LM head = wte; false: a separate lmhead [V, C]
  QkNormKind qk_norm = QkNormKind::None;  // rmsnorm only
  NormPlacement norm_place = NormPlacement::Pre;  // post norms: rmsnorm only
  int64_t D = 0;  // head size; 0 = C / H (Qwen3 and Gemma set it independently of C)
  int64_t window = 0;  // > 0: causal sliding-window attention over the last `window` positions
  // Per-layer attention kind (Gemma 2 and 3): empty = every layer as `window` says; else [L],
  // true = local (the sliding window, RoPE base rope_local_theta), false = global (no window,
  // rope_theta with rope_scaling).
  std::vector<bool> local_layers;
  double rope_local_theta = 0.0;  // > 0: local layers' RoPE base, unscaled; 0 = the global tables
  // Gemma's mechanisms, each off at its default:
  double norm_w_offset = 0.0;  // every RMSNorm computes x̂·(offset + w) (Gemma: 1)
  double embed_scale = 1.0;    // the embeddings are multiplied by it (Gemma: √C in the model dtype)
  double attn_softcap = 0.0;   // > 0: attention logits s -> cap·tanh(s/cap) before the softmax
  double final_softcap = 0.0;  // > 0: output logits z -> cap·tanh(z/cap)
  double query_scale = 0.0;    // > 0: attention scale queryScale^-1/2 instead of hs^-1/2

  int64_t hs() const { return D > 0 ? D : C / H; }
  int64_t qdim() const { return H * hs(); }  // width of the q projection and the attention output
  bool pre_norm() const { return norm_place != NormPlacement::Post; }
  bool post_norm() const { return norm_place != NormPlacement::Pre; }
  int64_t qk_groups() const { return qk_norm == QkNormKind::Head ? H + kv() : qk_norm == QkNormKind::Projection ? 2 : 0; }
  int64_t kv() const { return KV > 0 ? KV : H; }
  int64_t ffn() const { return F > 0 ? F : 4 * C; }
  int64_t qkv_rows() const { return (H + 2 * kv()) * hs(); }  // [q heads; k heads; v heads]
  bool gated() const { return mlp != MlpKind::Gelu; }
  int64_t fc_rows() const { return gated() ? 2 * ffn() : ffn(); }  // swiglu, geglu: [gate; up]
  bool is_local(int64_t l) const { return local_layers.empty() ? window > 0 : local_layers[l]; }
  int64_t window_of(int64_t l) const { return is_local(l) ? window : 0; }
  bool local_rope() const { return rope_local_theta > 0; }  // local layers have their own tables
};

// Throws a RangeError naming the field if the config cannot describe a model.
void validate_config(const GPTConfig& cfg);

enum ParamIndex {
  kWte, kWpe, kLn1w, kLn1b, kQkvw, kQkvb, kAttprojw, kAttprojb,
  kLn2w, kLn2b, kFcw, kFcb, kFcprojw, kFcprojb, kLnfw, kLnfb, kLmhead,
  kQnw, kKnw, kPostAttnw, kPostFfnw,
  kNumParamTensors
};

// Tensors with one slice per layer ([L, ...]); the others (wte, wpe, lnfw, lnfb, lmhead) are shared.
inline bool is_per_layer(int i) { return (i >= kLn1w && i <= kFcprojb) || i >= kQnw; }
// Norm weights (initialised to 1, trained with the norms, never decayed).
inline bool is_norm_weight(int i) {
  return i == kLn1w || i == kLn2w || i == kLnfw || i == kQnw || i == kKnw || i == kPostAttnw || i == kPostFfnw;
}

struct ParamTensor {
  const char* name;
  int64_t offset, size;  // size 0: the config does not have this tensor
  bool is_matrix;        // a 2-D weight (decayed by AdamW; see gpt_step.cpp)
};

// Tensors the config does not have keep their place with size 0: wpe (rope); ln1b, ln2b, lnfb
// (rmsnorm); qkvb (no qkv_bias); attprojb, fcb, fcprojb (no linear_bias); lmhead (tied); ln1w,
// ln2w (post norms only); qnw, knw (no qk_norm); postattnw, postffnw (pre norms only). The
// tensors of the later switches come after lmhead, so older layouts are unchanged.
//   attprojw [L, C, H·hs]; qnw, knw [L, hs] (per head) or [L, H·hs], [L, KV·hs] (projection);
//   postattnw, postffnw [L, C].
using ParamLayout = std::array<ParamTensor, kNumParamTensors>;
ParamLayout param_layout(const GPTConfig& cfg);
int64_t param_count(const GPTConfig& cfg);

// Initialisation, deterministic in `seed` and independent of the thread count:
// matrices ~ N(0, 0.02²) (attprojw and fcprojw, which feed the residual stream, scaled by
// 1/sqrt(2L)), biases 0, norm weights 1 (effective: 1 − normWeightOffset stored). Element i of tensor j draws two uniforms from
// splitmix64(key_j + 2i) and splitmix64(key_j + 2i + 1), key_j = splitmix64(seed ^ φ·(j+1)),
// and turns them into one normal by Box–Muller (the cosine branch). GPT-2 configs get exactly
// the values they always got. Writes elements [begin, end) of the flat array to out[0..end-begin),
// so that a big model can be initialised a chunk at a time (each element depends only on its
// tensor and index, never on the chunking).
void init_parameters(const GPTConfig& cfg, uint64_t seed, int64_t begin, int64_t end, float* out);

}  // namespace hg
