// The GPT engine: construction, forward, backward, gates and parameter import/export.
// The optimizer lives in gpt_step.cpp and generation in gpt_generate.cpp.
#include "core/gpt.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "core/errors.h"
#include "core/gpt_buffers.h"

namespace hg {

namespace {
bool profiling_requested() {
  const char* s = std::getenv("HEADGRAD_PROFILE");
  return s && std::strcmp(s, "1") == 0;
}

const GPTConfig& validated(const GPTConfig& cfg) {
  validate_config(cfg);
  return cfg;
}
}  // namespace

GPT::GPT(const GPTConfig& cfg, const Ops& ops, uint64_t seed)
    : cfg_(validated(cfg)), ops_(ops), layout_(param_layout(cfg)), num_params_(param_count(cfg)),
      prof_(profiling_requested()) {
  const int64_t bytes = num_params_ * static_cast<int64_t>(sizeof(float));
  params_ = std::make_unique<DeviceBuffer>(ops_, bytes);
  grads_ = std::make_unique<DeviceBuffer>(ops_, bytes);
  const std::vector<float> init = init_parameters(cfg, seed);
  ops_.upload(params_->f32(), init.data(), bytes);
  gates_ = std::make_unique<DeviceBuffer>(ops_, cfg.L * cfg.H * static_cast<int64_t>(sizeof(float)));
  const std::vector<float> ones(static_cast<size_t>(cfg.L * cfg.H), 1.f);
  ops_.upload(gates_->f32(), ones.data(), gates_->bytes());
}

GPT::~GPT() = default;

// Layer `layer`'s slice of a parameter tensor: ln1w..fcprojb are [L, ...]; wte, wpe, lnfw
// and lnfb are shared (layer must be 0).
float* GPT::param(ParamIndex i, int64_t layer) const {
  const bool per_layer = i >= kLn1w && i <= kFcprojb;
  return params_->f32() + layout_[i].offset + (per_layer ? layer * (layout_[i].size / cfg_.L) : 0);
}
// Null during a scores-only backward: every kernel then skips that weight gradient.
float* GPT::grad(ParamIndex i, int64_t layer) const {
  if (scores_only_) return nullptr;
  return grads_->f32() + (param(i, layer) - params_->f32());
}

void GPT::plan_activations(int64_t N) {
  if (acts_ && acts_->N >= N) return;
  acts_.reset();  // release the old plan before allocating the larger one
  auto a = std::make_unique<Acts>();
  const int64_t L = cfg_.L, C = cfg_.C, V = cfg_.V, H = cfg_.H;
  ArenaPlanner p;
  p.add(a->tokens, N);
  p.add(a->targets, N);
  p.add(a->weights, N);
  p.add(a->losses, N);
  p.add(a->encoded, N * C);
  p.add(a->ln1, L * N * C);
  p.add(a->ln1_mean, L * N);
  p.add(a->ln1_rstd, L * N);
  p.add(a->qkv, L * N * 3 * C);
  p.add(a->q, L * N * C);
  p.add(a->k, L * N * C);
  p.add(a->v, L * N * C);
  p.add(a->atto, L * N * C);
  p.add(a->lse, L * N * H);
  p.add(a->atty, L * N * C);
  p.add(a->residual2, L * N * C);
  p.add(a->ln2, L * N * C);
  p.add(a->ln2_mean, L * N);
  p.add(a->ln2_rstd, L * N);
  p.add(a->fch, L * N * 4 * C);
  p.add(a->fch_gelu, L * N * 4 * C);
  p.add(a->residual3, L * N * C);
  p.add(a->lnf, N * C);
  p.add(a->lnf_mean, N);
  p.add(a->lnf_rstd, N);
  p.add(a->logits, N * V);
  p.add(a->proj, N * C);
  p.add(a->dresidual, N * C);
  p.add(a->dln, N * C);
  p.add(a->datty, N * C);
  p.add(a->dao, N * C);
  p.add(a->dq, N * C);
  p.add(a->dk, N * C);
  p.add(a->dv, N * C);
  p.add(a->dqkv, N * 3 * C);
  p.add(a->dfch, N * 4 * C);
  p.add(a->head_scores, L * N * H);
  a->arena = p.allocate(ops_);
  a->N = N;
  acts_ = std::move(a);
}

// out [N,OC] = inp [N,IC] · w_lᵀ + b_l
void GPT::matmul_forward(float* out, const float* inp, ParamIndex w, ParamIndex b, int64_t l,
                         int64_t N, int64_t IC, int64_t OC) {
  auto s = prof_.gemm_scope(2.0 * N * IC * OC);
  ops_.matmul_forward(out, inp, param(w, l), param(b, l), N, IC, OC);
}

// Forward: out = inp · w_lᵀ + b_l.  dinp = dout·w_l; dw_l += doutᵀ·inp; db_l += Σ dout
void GPT::matmul_backward(float* dinp, const float* dout, const float* inp, ParamIndex w,
                          ParamIndex b, int64_t l, int64_t N, int64_t IC, int64_t OC) {
  auto s = prof_.gemm_scope(4.0 * N * IC * OC);
  ops_.matmul_backward(dinp, grad(w, l), grad(b, l), dout, inp, param(w, l), N, IC, OC);
}

// One pre-LayerNorm block: res_in [N,C] -> residual3_l [N,C].
void GPT::block_forward(int64_t l, const float* res_in, int64_t B, int64_t T) {
  Acts& a = *acts_;
  const int64_t N = B * T, C = cfg_.C, H = cfg_.H, hs = cfg_.hs();
  float* ln1 = a.ln1 + l * N * C;
  float* qkv = a.qkv + l * N * 3 * C;
  float *q = a.q + l * N * C, *k = a.k + l * N * C, *v = a.v + l * N * C;
  float* atto = a.atto + l * N * C;
  float* atty = a.atty + l * N * C;
  float* res2 = a.residual2 + l * N * C;
  float* ln2 = a.ln2 + l * N * C;
  float *fch = a.fch + l * N * 4 * C, *fch_gelu = a.fch_gelu + l * N * 4 * C;
  float* res3 = a.residual3 + l * N * C;
  {
    auto s = prof_.scope(OpKind::LayerNorm);
    ops_.layernorm_forward(ln1, a.ln1_mean + l * N, a.ln1_rstd + l * N, res_in, param(kLn1w, l), param(kLn1b, l), N, C);
  }
  matmul_forward(qkv, ln1, kQkvw, kQkvb, l, N, C, 3 * C);
  {
    auto s = prof_.scope(OpKind::Heads);
    ops_.split_heads(q, k, v, qkv, B, T, H, hs);
  }
  {
    auto s = prof_.scope(OpKind::Attention);
    ops_.attention_forward(q, k, v, atto, a.lse + l * N * H, AttnShape{B, H, T, hs}, AttnParams{});
  }
  {
    auto s = prof_.scope(OpKind::Heads);
    ops_.merge_heads(atty, atto, gates_->f32() + l * H, B, T, H, hs);
  }
  matmul_forward(a.proj, atty, kAttprojw, kAttprojb, l, N, C, C);
  {
    auto s = prof_.scope(OpKind::Residual);
    ops_.residual_forward(res2, res_in, a.proj, N * C);
  }
  {
    auto s = prof_.scope(OpKind::LayerNorm);
    ops_.layernorm_forward(ln2, a.ln2_mean + l * N, a.ln2_rstd + l * N, res2, param(kLn2w, l), param(kLn2b, l), N, C);
  }
  matmul_forward(fch, ln2, kFcw, kFcb, l, N, C, 4 * C);
  {
    auto s = prof_.scope(OpKind::Gelu);
    ops_.gelu_forward(fch_gelu, fch, N * 4 * C);
  }
  matmul_forward(a.proj, fch_gelu, kFcprojw, kFcprojb, l, N, 4 * C, C);
  auto s = prof_.scope(OpKind::Residual);
  ops_.residual_forward(res3, res2, a.proj, N * C);
}

double GPT::forward(const int32_t* tokens, const int32_t* targets, const float* loss_weights,
                    int64_t B, int64_t T, float* logits_out, bool scores_only) {
  HG_CHECK(B >= 1, "forward: batch must be at least 1, got " + std::to_string(B));
  HG_CHECK(T >= 1 && T <= cfg_.P, "forward: seqLen must be in [1, maxSeqLen = " + std::to_string(cfg_.P) +
                                      "], got " + std::to_string(T));
  HG_CHECK(!scores_only || (targets && !logits_out), "forward: a scores-only forward needs targets and returns no logits");
  const int64_t N = B * T, C = cfg_.C, V = cfg_.V, L = cfg_.L;
  ready_for_backward_ = false;
  logits_at_targets_ = scores_only;
  target_rows_.clear();
  if (scores_only)
    for (int64_t i = 0; i < N; ++i)
      if (targets[i] >= 0) target_rows_.push_back(i);
  // Rows of the LM head and the loss: all N, or (scores-only) the target rows packed in order.
  const int64_t NL = scores_only ? static_cast<int64_t>(target_rows_.size()) : N;
  plan_activations(N);
  Acts& a = *acts_;
  B_ = B;
  T_ = T;
  ops_.upload(a.tokens, tokens, N * 4);
  {
    auto s = prof_.scope(OpKind::Embedding);
    ops_.encoder_forward(a.encoded, a.tokens, param(kWte), param(kWpe), B, T, C);
  }
  for (int64_t l = 0; l < L; ++l) block_forward(l, l == 0 ? a.encoded : a.residual3 + (l - 1) * N * C, B, T);
  {
    auto s = prof_.scope(OpKind::LayerNorm);
    ops_.layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, a.residual3 + (L - 1) * N * C, param(kLnfw), param(kLnfb), N, C);
  }
  const float* lm_in = a.lnf;
  if (scores_only) {  // a.proj [NL,C] = the target rows of lnf (staged through the host)
    std::vector<float> all(static_cast<size_t>(N * C)), packed(static_cast<size_t>(NL * C));
    ops_.download(all.data(), a.lnf, N * C * 4);
    for (int64_t r = 0; r < NL; ++r)
      std::memcpy(&packed[r * C], &all[target_rows_[r] * C], C * sizeof(float));
    ops_.upload(a.proj, packed.data(), NL * C * 4);
    lm_in = a.proj;
  }
  {
    auto s = prof_.gemm_scope(2.0 * NL * C * V);
    if (NL > 0) ops_.matmul_forward(a.logits, lm_in, param(kWte), nullptr, NL, C, V);  // tied LM head
  }
  if (logits_out) ops_.download(logits_out, a.logits, N * V * 4);
  if (!targets) return std::numeric_limits<double>::quiet_NaN();

  // Weights: the given ones, or 1/(number of positions with a target); 0 where target is -1.
  std::vector<float> w(static_cast<size_t>(N), 0.f);
  int64_t counted = 0;
  for (int64_t i = 0; i < N; ++i) counted += targets[i] >= 0;
  for (int64_t i = 0; i < N; ++i) {
    if (targets[i] < 0) continue;
    w[i] = loss_weights ? loss_weights[i] : 1.f / static_cast<float>(counted);
  }
  std::vector<int32_t> t(targets, targets + N);
  if (scores_only) {  // pack targets and weights like the logits rows
    for (int64_t r = 0; r < NL; ++r) {
      t[r] = targets[target_rows_[r]];
      w[r] = w[target_rows_[r]];
    }
  }
  ops_.upload(a.targets, t.data(), NL * 4);
  ops_.upload(a.weights, w.data(), NL * 4);
  std::vector<float> losses(static_cast<size_t>(NL));
  {
    auto s = prof_.scope(OpKind::Loss);
    if (NL > 0) ops_.softmax_crossentropy_forward(a.logits, a.losses, a.targets, NL, V);
    ops_.download(losses.data(), a.losses, NL * 4);
  }
  // The same sum in the same row order either way (rows without a target add exactly 0).
  double loss = 0.0;
  for (int64_t i = 0; i < NL; ++i) loss += static_cast<double>(w[i]) * losses[i];
  ready_for_backward_ = true;
  return loss;
}

// Backward of block_forward. On entry a.dresidual holds dL/d residual3_l; on exit it holds
// dL/d res_in. head_scores: the layer's [B,H] slice.
void GPT::block_backward(int64_t l, const float* res_in, int64_t B, int64_t T, float* head_scores) {
  Acts& a = *acts_;
  const int64_t N = B * T, C = cfg_.C, H = cfg_.H, hs = cfg_.hs();
  const float* ln1 = a.ln1 + l * N * C;
  const float *q = a.q + l * N * C, *k = a.k + l * N * C, *v = a.v + l * N * C;
  const float* atto = a.atto + l * N * C;
  const float* atty = a.atty + l * N * C;
  const float* res2 = a.residual2 + l * N * C;
  const float* ln2 = a.ln2 + l * N * C;
  const float *fch = a.fch + l * N * 4 * C, *fch_gelu = a.fch_gelu + l * N * 4 * C;

  // Forward: ops_.residual_forward(res3, res2, a.proj, N * C) -- dresidual flows to both.
  // Forward: matmul_forward(a.proj, fch_gelu, kFcprojw, kFcprojb, l, N, 4 * C, C);
  matmul_backward(a.dfch, a.dresidual, fch_gelu, kFcprojw, kFcprojb, l, N, 4 * C, C);
  {
    // Forward: ops_.gelu_forward(fch_gelu, fch, N * 4 * C);
    auto s = prof_.scope(OpKind::Gelu);
    ops_.gelu_backward(a.dfch, fch, a.dfch, N * 4 * C);
  }
  // Forward: matmul_forward(fch, ln2, kFcw, kFcb, l, N, C, 4 * C);
  matmul_backward(a.dln, a.dfch, ln2, kFcw, kFcb, l, N, C, 4 * C);
  {
    // Forward: ops_.layernorm_forward(ln2, ..., res2, ln2w, ln2b, N, C);  (adds into dresidual)
    auto s = prof_.scope(OpKind::LayerNorm);
    ops_.layernorm_backward(a.dresidual, grad(kLn2w, l), grad(kLn2b, l), a.dln, res2, param(kLn2w, l),
                            a.ln2_mean + l * N, a.ln2_rstd + l * N, N, C);
  }
  // Forward: ops_.residual_forward(res2, res_in, a.proj, N * C);
  // Forward: matmul_forward(a.proj, atty, kAttprojw, kAttprojb, l, N, C, C);
  matmul_backward(a.datty, a.dresidual, atty, kAttprojw, kAttprojb, l, N, C, C);
  {
    // Forward: ops_.merge_heads(atty, atto, gates_l, B, T, H, hs);  -- ungated on purpose
    auto s = prof_.scope(OpKind::Heads);
    ops_.merge_heads_backward(a.dao, a.datty, B, T, H, hs);
  }
  {
    // Forward: ops_.attention_forward(q, k, v, atto, lse_l, shape, {});
    // Fed the ungated gradient, its head score Σ dy∘atto is exactly ∂L/∂ξ_h (ξ_h may be 0).
    auto s = prof_.scope(OpKind::Attention);
    ops_.attention_backward(a.dao, q, k, v, atto, a.lse + l * N * H, a.dq, a.dk, a.dv, head_scores,
                            AttnShape{B, H, T, hs}, AttnParams{});
  }
  {
    // Forward: ops_.split_heads(q, k, v, qkv, B, T, H, hs);  -- and ξ_h scales dq, dk, dv here
    auto s = prof_.scope(OpKind::Heads);
    ops_.split_heads_backward(a.dqkv, a.dq, a.dk, a.dv, gates_->f32() + l * H, B, T, H, hs);
  }
  // Forward: matmul_forward(qkv, ln1, kQkvw, kQkvb, l, N, C, 3 * C);
  matmul_backward(a.dln, a.dqkv, ln1, kQkvw, kQkvb, l, N, C, 3 * C);
  // Forward: ops_.layernorm_forward(ln1, ..., res_in, ln1w, ln1b, N, C);  (adds into dresidual)
  auto s = prof_.scope(OpKind::LayerNorm);
  ops_.layernorm_backward(a.dresidual, grad(kLn1w, l), grad(kLn1b, l), a.dln, res_in, param(kLn1w, l),
                          a.ln1_mean + l * N, a.ln1_rstd + l * N, N, C);
}

void GPT::backward(float* head_scores, bool scores_only) {
  HG_CHECK(ready_for_backward_, "backward: needs a forward with targets first (and only one backward per forward)");
  HG_CHECK(scores_only || !logits_at_targets_,
           "backward: the forward was scores-only (logits at target positions only); a full backward needs a full forward");
  Acts& a = *acts_;
  const int64_t B = B_, T = T_, N = B * T, C = cfg_.C, V = cfg_.V, L = cfg_.L, H = cfg_.H;
  const int64_t NL = logits_at_targets_ ? static_cast<int64_t>(target_rows_.size()) : N;
  ready_for_backward_ = false;  // the logits buffer becomes dlogits below
  ready_for_step_ = false;
  last_backward_scores_only_ = scores_only;
  if (!scores_only) ops_.zero(grads_->f32(), num_params_ * 4);
  ops_.zero(a.dresidual, N * C * 4);
  struct ScoresOnly {  // grad() is null until the end of this backward, also on an error
    bool& flag;
    ~ScoresOnly() { flag = false; }
  } restore{scores_only_};
  scores_only_ = scores_only;
  {
    // Forward: ops_.softmax_crossentropy_forward(a.logits, a.losses, a.targets, NL, V);
    auto s = prof_.scope(OpKind::Loss);
    if (NL > 0) ops_.softmax_crossentropy_backward(a.logits, a.targets, a.weights, NL, V);
  }
  if (logits_at_targets_) {
    // Forward: ops_.matmul_forward(a.logits, lm_in, param(kWte), nullptr, NL, C, V);
    // dln = 0 except at the target rows, which get dlogits·wte (staged through the host).
    {
      auto s = prof_.gemm_scope(2.0 * NL * C * V);
      if (NL > 0) ops_.matmul_backward(a.proj, nullptr, nullptr, a.logits, nullptr, param(kWte), NL, C, V);
    }
    std::vector<float> packed(static_cast<size_t>(NL * C)), all(static_cast<size_t>(N * C), 0.f);
    ops_.download(packed.data(), a.proj, NL * C * 4);
    for (int64_t r = 0; r < NL; ++r)
      std::memcpy(&all[target_rows_[r] * C], &packed[r * C], C * sizeof(float));
    ops_.upload(a.dln, all.data(), N * C * 4);
  } else {
    // Forward: ops_.matmul_forward(a.logits, a.lnf, param(kWte), nullptr, N, C, V);
    auto s = prof_.gemm_scope((scores_only ? 2.0 : 4.0) * N * C * V);
    ops_.matmul_backward(a.dln, grad(kWte), nullptr, a.logits, a.lnf, param(kWte), N, C, V);
  }
  {
    // Forward: ops_.layernorm_forward(a.lnf, ..., residual3_{L-1}, lnfw, lnfb, N, C);
    auto s = prof_.scope(OpKind::LayerNorm);
    ops_.layernorm_backward(a.dresidual, grad(kLnfw), grad(kLnfb), a.dln, a.residual3 + (L - 1) * N * C,
                            param(kLnfw), a.lnf_mean, a.lnf_rstd, N, C);
  }
  for (int64_t l = L - 1; l >= 0; --l) {
    block_backward(l, l == 0 ? a.encoded : a.residual3 + (l - 1) * N * C, B, T, a.head_scores + l * B * H);
  }
  if (!scores_only) {
    // Forward: ops_.encoder_forward(a.encoded, a.tokens, wte, wpe, B, T, C);
    auto s = prof_.scope(OpKind::Embedding);
    ops_.encoder_backward(grad(kWte), grad(kWpe), a.dresidual, a.tokens, B, T, C);
  }
  ops_.download(head_scores, a.head_scores, L * B * H * 4);
  ready_for_step_ = !scores_only;
}

void GPT::set_head_gates(const float* gates) { ops_.upload(gates_->f32(), gates, gates_->bytes()); }

void GPT::export_parameters(float* host) const { ops_.download(host, params_->f32(), num_params_ * 4); }

void GPT::import_parameters(const float* host) {
  ops_.upload(params_->f32(), host, num_params_ * 4);
  ready_for_backward_ = ready_for_step_ = last_backward_scores_only_ = false;  // activations and gradients are stale now
  // New weights start a new optimisation: moments and the bias-correction count of the old
  // trajectory would otherwise push the first steps in the old gradients' direction.
  m_.reset();
  v_.reset();
  steps_ = 0;
}

void GPT::export_gradients(float* host) const {
  HG_CHECK(!last_backward_scores_only_, "exportGradients: the last backward was scores-only (no weight gradients)");
  HG_CHECK(ready_for_step_, "exportGradients: needs a backward first");
  ops_.download(host, grads_->f32(), num_params_ * 4);
}

}  // namespace hg
