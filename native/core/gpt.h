// The training engine for GPT-2 and the Llama family (llm.c style: one straight-line forward
// and backward, no graph). GPT-2: token + learned position embeddings, pre-LayerNorm blocks
// (QKV projection, fused causal attention, per-head gates, output projection, GELU MLP 4×),
// final LayerNorm, LM head tied to wte. The config switches (core/gpt_params.h) swap in RMSNorm,
// RoPE on q and k, SwiGLU, grouped-query attention, optional biases and an untied LM head.
// Backend-neutral: all numerics go through an Ops table (core/ops.h); host pointers in this
// API are plain host memory.
//
// Heads: gates, head scores and trainable_heads are per query head (H of them). Under
// grouped-query attention k/v head g serves query heads g·H/KV .. (g+1)·H/KV − 1.
//
// The model owns its parameters, gradients, AdamW moments and activations. Activations are
// planned for N = batch·seqLen rows and reused; they are re-planned only when N grows, or when
// a full pass follows scores-only ones (a scores-only plan keeps less: lay_out_activations).
//
// Weights: an f32 model holds every parameter as f32. A bf16 model (an Ops table with bf16w)
// holds its 2-D weights only as bf16 bits and its vectors (norm weights, biases) as f32; the
// f32 master copy, the gradient and AdamW's moments exist only for the trainable set
// (set_trainable), in one compact array each, created at the first full backward / step; after
// each step the trained slices are re-rounded into the bf16 weights (docs/memory.md).
//
// Not thread-safe: one call at a time per model (the addon enforces it).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "core/gpt_params.h"
#include "core/ops.h"
#include "core/profiler.h"

namespace hg {

struct StepOptions {
  float lr = 0.f;
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.f;
  float grad_clip = 0.f;  // > 0: scale gradients so their global norm is at most this
  // Empty: every parameter trains. Otherwise [L·H] flags: only the Q rows (weights and biases)
  // and attprojw columns of the flagged query heads train, the K/V rows of a k/v head when any
  // query head of its group is flagged, plus the groups below.
  std::vector<uint8_t> trainable_heads;
  bool train_mlp = false;         // fcw, fcb, fcprojw, fcprojb
  bool train_layernorm = false;   // ln1, ln2, lnf weights and biases
  bool train_embeddings = false;  // wte, wpe and the LM head (wte when tied, lmhead otherwise)
};

// The parameters a step updates: StepOptions' switches on their own (set_trainable).
struct Trainable {
  std::vector<uint8_t> heads;  // empty: everything trains; else [L·H] flags as in StepOptions
  bool mlp = false, layernorm = false, embeddings = false;
  bool operator==(const Trainable& o) const {
    return heads == o.heads && mlp == o.mlp && layernorm == o.layernorm && embeddings == o.embeddings;
  }
  bool operator!=(const Trainable& o) const { return !(*this == o); }
};
Trainable trainable_of(const StepOptions& o);

// Bytes the engine holds, by kind (the memory planner and the tests compare against these).
struct ResidentBytes {
  int64_t weights_f32 = 0;   // an f32 model's parameters
  int64_t weights_bf16 = 0;  // a bf16 model's matrices (bf16 bits)
  int64_t vectors_f32 = 0;   // a bf16 model's norm weights and biases
  int64_t master = 0;        // f32 masters of the trained slices (bf16 models)
  int64_t grads = 0, moments = 0;
  int64_t activations = 0, decode = 0;  // forward/backward arena; generate's KV cache and scratch
  int64_t other = 0;                    // gates, RoPE tables
};

class DeviceBuffer;
class ArenaPlanner;

class GPT {
 public:
  // random_init false: the parameters start at zero (a loader imports every one next, so
  // drawing the initialisation would be wasted time: ~45 s of a 1B model's 68 s run).
  GPT(const GPTConfig& cfg, const Ops& ops, uint64_t seed, bool random_init = true);
  ~GPT();
  GPT(const GPT&) = delete;
  GPT& operator=(const GPT&) = delete;

  // Bytes of the activation arena a forward/backward over N = batch·seqLen rows allocates, for a
  // full pass or a scores-only one (the memory planner asks the engine rather than repeating its
  // arithmetic).
  static int64_t activation_bytes(const GPTConfig& cfg, int64_t N, bool scores_only);

  const GPTConfig& config() const { return cfg_; }
  int64_t num_params() const { return num_params_; }
  bool bf16_weights() const { return bf16_; }
  ResidentBytes resident_bytes() const;
  // Declares what later steps train. A bf16 model forms gradients only for this set (and
  // step() refuses another); it refuses a change while it holds optimizer state for another
  // set. For an f32 model it is the default of step() options that name no set. Default: all.
  void set_trainable(const Trainable& t);
  const Trainable& trainable() const { return trainable_; }
  Profiler& profiler() { return prof_; }

  // tokens, targets [B·T] (targets may be null: no loss; -1 = no target at that position);
  // loss_weights [B·T] or null (null: the mean over positions with a target).
  // logits_out: null, or host [B,T,V] to receive the logits. Returns the loss (NaN without
  // targets). Inputs must already be validated (tokens in [0,V), targets in [-1,V), T <= P).
  // scores_only: the LM head and the loss run only at positions with a target (same loss), a
  // chunk of rows at a time, and their backward runs here too (the loss is the head's only
  // consumer); the backward that follows must be scores-only too, and logits_out must be null.
  double forward(const int32_t* tokens, const int32_t* targets, const float* loss_weights,
                 int64_t B, int64_t T, float* logits_out, bool scores_only = false);
  // Needs a forward with targets since the last backward. Writes fresh gradients (they are
  // not accumulated across calls) and head_scores (host [L,B,H]) = ∂L/∂ξ for each head gate.
  // scores_only: only what the head scores need: no weight, bias or embedding gradient (step()
  // and export_gradients() then refuse); the head scores equal the full backward's.
  void backward(float* head_scores, bool scores_only = false);
  // Needs a backward since the last step.
  // Refuses (RangeError, nothing changed) when the gradients it would apply are not finite.
  void step(const StepOptions& o);
  // AdamW state, for resumable training: moments m, v (host [optimizer_state_size()], zero
  // before the first step) and the step count of the bias corrections. An f32 model's state
  // covers every parameter in the canonical layout; a bf16 model's covers its trainable set
  // only (compact, in the order of its trained blocks) and adds the f32 masters (master, same
  // size; null for f32 models). import_parameters() resets them, so a resume imports the
  // parameters first, then this.
  int64_t optimizer_steps() const;
  int64_t optimizer_state_size() const;
  void export_optimizer_state(float* m, float* v, float* master = nullptr) const;
  void import_optimizer_state(const float* m, const float* v, int64_t steps, const float* master = nullptr);
  // Greedy decoding with a KV cache; returns the new tokens only (stop_token, when met, ends
  // the output and is not included; -1: none). prompt.size() + max_new must be <= P.
  std::vector<int32_t> generate(const std::vector<int32_t>& prompt, int64_t max_new,
                                int32_t stop_token);

  void set_head_gates(const float* gates);  // host [L·H]
  // Export gives the f32 masters where they exist, else the weights as held (bf16 widened).
  void export_parameters(float* host) const;
  void import_parameters(const float* host);  // also forgets pending gradients and AdamW state
  // Parameters [offset, offset+n) of the canonical layout, to or from host memory (streaming
  // load/save without a second full copy). The import also forgets gradients and AdamW state;
  // a bf16 model rounds the matrices once into its bf16 weights.
  void export_parameter_range(int64_t offset, int64_t n, float* host) const;
  void import_parameter_range(int64_t offset, int64_t n, const float* host);
  // The same from bf16 bits (a BF16 checkpoint): copied as they are into a bf16 model's
  // matrices (never rounded twice), widened exactly everywhere else.
  void import_parameter_range_bf16(int64_t offset, int64_t n, const uint16_t* host);
  // Needs a backward. A bf16 model forms gradients only for its trainable set: 0 elsewhere.
  void export_gradients(float* host) const;

  bool has_forward_with_targets() const { return ready_for_backward_; }
  int64_t last_batch() const { return B_; }
  bool has_gradients() const { return ready_for_step_; }
  bool last_forward_scores_only() const { return logits_at_targets_; }
  bool last_backward_scores_only() const { return last_backward_scores_only_; }

 private:
  struct Acts;
  struct DecodeState;
  struct BlockIO;
  // One trained block of a bf16 model: rows [r0, r0+nr) x columns [c0, c0+nc) of layer l's
  // slice of tensor t, seen as [rows, cols] (matrices [OC, IC]; vectors [1, size]), held at
  // `offset` of the compact master/grad/moment arrays as a dense [nr, nc] matrix.
  struct TrainBlock {
    ParamIndex t;
    int64_t l, r0, nr, c0, nc, offset;
  };
  static constexpr ParamIndex kNoParam = kNumParamTensors;  // "no bias"
  float* param(ParamIndex i, int64_t layer = 0) const;      // f32 storage (vectors only in bf16)
  uint16_t* w16(ParamIndex i, int64_t layer = 0) const;    // a bf16 model's matrix slice
  float* grad(ParamIndex i, int64_t layer = 0) const;
  ParamIndex lm_index() const { return cfg_.tied ? kWte : kLmhead; }
  int64_t slice_cols(ParamIndex i) const;  // IC of a matrix slice, the slice size of a vector
  int64_t slice_size(ParamIndex i) const;
  void write_range(int64_t offset, int64_t n, const float* host);  // no state reset
  std::vector<TrainBlock> trained_blocks(const Trainable& t) const;  // the rule of what a step updates
  void plan_trained_blocks();
  // host[i - offset] = the compact array's value of canonical element i, for every trained
  // element in [offset, offset+n) (the others are left as they are)
  void overlay_blocks(const float* compact, int64_t offset, int64_t n, float* host) const;
  void sync_masters(bool to_weights);  // masters <- weights (widened), or weights <- masters (rounded)
  std::vector<ParamSpan> compact_spans() const;
  void norm_forward(float* out, float* mean, float* rstd, const float* inp, ParamIndex w, ParamIndex b,
                    int64_t l, int64_t N);
  void norm_backward(float* dinp, const float* dout, const float* inp, ParamIndex w, ParamIndex b, int64_t l,
                     const float* mean, const float* rstd, int64_t N);
  static void lay_out_activations(const GPTConfig& cfg, int64_t N, bool scores_only, Acts* a, ArenaPlanner& p);
  void plan_activations(int64_t N, bool scores_only);
  double head_at_targets(const int32_t* targets, const float* weights, int64_t N);
  void matmul_forward(float* out, const float* inp, ParamIndex w, ParamIndex b, int64_t l,
                      int64_t N, int64_t IC, int64_t OC);
  void matmul_backward(float* dinp, const float* dout, const float* inp, ParamIndex w,
                       ParamIndex b, int64_t l, int64_t N, int64_t IC, int64_t OC);
  // The block (gpt_block.cpp): one body for the training forward and decoding, and its backward.
  BlockIO layer_io(int64_t l, const float* res_in, int64_t N) const;
  AttnParams attn_params(int64_t l) const;
  void final_softcap_forward(int64_t n);
  void final_softcap_backward(int64_t n);
  float w_offset() const { return static_cast<float>(cfg_.norm_w_offset); }  // RMSNorm's x̂·(offset + w)
  void attend_train(int64_t l, const float* qkv, float* atty, int64_t B, int64_t T);
  void attend_decode(int64_t l, const float* qkv, float* atty, int64_t n, int64_t pos);
  void block_forward(int64_t l, const BlockIO& io, int64_t B, int64_t T, int64_t pos0, bool decoding);
  void block_backward(int64_t l, const BlockIO& io, int64_t B, int64_t T, float* head_scores);
  void decode(const int32_t* tokens, int64_t n, int64_t pos, float* last_logits);
  std::vector<ParamSpan> trainable_spans(const StepOptions& o) const;

  GPTConfig cfg_;
  const Ops& ops_;
  ParamLayout layout_;
  int64_t num_params_;
  Profiler prof_;
  bool bf16_ = false;  // ops_.bf16w: matrices only as bf16 (w16_), vectors packed in params_
  Trainable trainable_;
  std::vector<TrainBlock> blocks_;                // bf16 models: the trainable set's blocks
  std::vector<std::vector<int>> blocks_of_;       // [tensor·L + layer] -> indices into blocks_
  int64_t trained_ = 0;                           // elements in the blocks
  std::array<int64_t, kNumParamTensors> vec_offset_{};  // bf16 models: a vector's place in params_
  std::unique_ptr<DeviceBuffer> w16_, master_;
  std::unique_ptr<DeviceBuffer> params_, grads_, m_, v_, gates_;
  // [P, hs/2] each (RoPE configs only); under longrope the short factors' tables, whose
  // min(P, originalMaxPositions) rows are all a pass that uses them can reach
  std::unique_ptr<DeviceBuffer> rope_cos_, rope_sin_;
  // the local layers' own tables (ropeLocalTheta only; else they share rope_cos_, rope_sin_)
  std::unique_ptr<DeviceBuffer> rope_local_cos_, rope_local_sin_;
  // longrope's long factors' tables [P, hs/2] (only when P > originalMaxPositions)
  std::unique_ptr<DeviceBuffer> rope_long_cos_, rope_long_sin_;
  struct RopeTables {
    const float *cos, *sin;
  };
  RopeTables rope_tables_of(int64_t l, int64_t end) const;
  std::unique_ptr<Acts> acts_;
  std::unique_ptr<DecodeState> decode_;
  int64_t B_ = 0, T_ = 0;  // shape of the last forward
  int64_t steps_ = 0;      // AdamW steps taken (the bias corrections use it)
  bool ready_for_backward_ = false, ready_for_step_ = false;
  // Scores-only passes: the last forward's logits cover only target_rows_ (ascending rows of
  // [N]); while a scores-only backward runs, grad() is null so no weight gradient is formed.
  bool logits_at_targets_ = false, scores_only_ = false, last_backward_scores_only_ = false;
  std::vector<int64_t> target_rows_;
};

}  // namespace hg
