// The GPT engine: construction, forward, backward, gates and parameter import/export.
// The optimizer lives in gpt_step.cpp and generation in gpt_generate.cpp.
#include "core/gpt.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>

#include "core/bf16.h"
#include "core/errors.h"
#include "core/gpt_buffers.h"
#include "core/rope.h"

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

// A backend without an optional kernel (null in its table) cannot run configs that need it.
void check_backend(const GPTConfig& c, const Ops& ops) {
  const std::string be = std::string("GPT: the ") + ops.name + " backend does not implement ";
  HG_CHECK(c.norm != NormKind::RMSNorm || (ops.rmsnorm_forward && ops.rmsnorm_backward), be + "norm 'rmsnorm'");
  HG_CHECK(c.positions != PosKind::Rope || (ops.rope_forward && ops.rope_backward), be + "positions 'rope'");
  HG_CHECK(c.mlp != MlpKind::SwiGLU || (ops.swiglu_forward && ops.swiglu_backward), be + "mlp 'swiglu'");
  HG_CHECK(c.mlp != MlpKind::GeGLU || (ops.geglu_forward && ops.geglu_backward), be + "mlp 'geglu'");
  HG_CHECK(c.embed_scale == 1.0 || ops.scale, be + "config.embedScale");
  HG_CHECK(c.final_softcap == 0 || (ops.softcap_forward && ops.softcap_backward), be + "config.finalSoftcap");
  HG_CHECK(c.qk_norm == QkNormKind::None || (ops.qk_norm_forward && ops.qk_norm_backward),
           be + "config.qkNorm ('" + (c.qk_norm == QkNormKind::Head ? "head" : "projection") + "')");
  // The block variants that need no new kernel (a head size other than dim/heads, post norms)
  // only reshape or reorder existing calls, but only the CPU backend has run their tests; the
  // others (CUDA, until a GPU runs them) refuse them.
  const bool tested = std::strncmp(ops.name, "cpu", 3) == 0;
  const std::string untested = std::string("GPT: the ") + ops.name + " backend is not tested with ";
  HG_CHECK(c.hs() * c.H == c.C || tested, untested + "config.headDim other than dim/heads (" + std::to_string(c.hs()) +
                                              " x " + std::to_string(c.H) + " heads != dim " + std::to_string(c.C) + ")");
  HG_CHECK(c.norm_place == NormPlacement::Pre || tested,
           untested + "config.normPlacement '" + (c.norm_place == NormPlacement::Post ? "post" : "both") + "'");
  HG_CHECK(c.window == 0 || tested, untested + "config.slidingWindow (" + std::to_string(c.window) + ")");
  // Gemma's switches: the CPU kernels only (the CUDA attention, norm and decode kernels have no
  // soft-cap, weight offset or query scale; written without a GPU, they would be untested)
  HG_CHECK(c.norm_w_offset == 0 || tested, untested + "config.normWeightOffset (" + std::to_string(c.norm_w_offset) + ")");
  HG_CHECK(c.attn_softcap == 0 || tested, untested + "config.attnSoftcap (" + std::to_string(c.attn_softcap) + ")");
  HG_CHECK(c.query_scale == 0 || tested, untested + "config.queryScale (" + std::to_string(c.query_scale) + ")");
  HG_CHECK(c.local_layers.empty() || tested, untested + "config.layerTypes");
  HG_CHECK(c.rope_local_theta == 0 || tested, untested + "config.ropeLocalTheta");
  // longrope's tables are the RoPE kernel's usual inputs, but no GPU has run a longrope model
  HG_CHECK(c.rope_scaling.type != RopeScalingKind::LongRope || tested, untested + "config.ropeScaling 'longrope'");
}
}  // namespace

GPT::GPT(const GPTConfig& cfg, const Ops& ops, uint64_t seed, bool random_init)
    : cfg_(validated(cfg)), ops_(ops), layout_(param_layout(cfg)), num_params_(param_count(cfg)),
      prof_(profiling_requested()), bf16_(ops.bf16w != nullptr) {
  check_backend(cfg_, ops_);
  if (bf16_) {  // matrices as bf16 bits at their canonical offsets; vectors packed in params_
    int64_t vectors = 0;
    for (int i = 0; i < kNumParamTensors; ++i) {
      vec_offset_[i] = vectors;
      if (!layout_[i].is_matrix) vectors += layout_[i].size;
    }
    w16_ = std::make_unique<DeviceBuffer>(ops_, num_params_ * 2);
    params_ = std::make_unique<DeviceBuffer>(ops_, vectors * 4);
  } else {
    params_ = std::make_unique<DeviceBuffer>(ops_, num_params_ * static_cast<int64_t>(sizeof(float)));
  }
  plan_trained_blocks();
  // Initialised through a bounded host buffer, and gradients allocated by the first full
  // backward: creating (or loading) a model costs one copy of its parameters, not three.
  // Without random_init the buffer stays as alloc() returns it: zeroed.
  constexpr int64_t kInitChunk = int64_t{1} << 22;  // floats (16 MiB)
  std::vector<float> chunk(random_init ? static_cast<size_t>(std::min(num_params_, kInitChunk)) : 0);
  for (int64_t begin = 0; random_init && begin < num_params_; begin += kInitChunk) {
    const int64_t end = std::min(num_params_, begin + kInitChunk);
    init_parameters(cfg, seed, begin, end, chunk.data());
    write_range(begin, end - begin, chunk.data());
  }
  gates_ = std::make_unique<DeviceBuffer>(ops_, cfg.L * cfg.H * static_cast<int64_t>(sizeof(float)));
  const std::vector<float> ones(static_cast<size_t>(cfg.L * cfg.H), 1.f);
  ops_.upload(gates_->f32(), ones.data(), gates_->bytes());
  if (cfg.positions == PosKind::Rope) {
    std::vector<float> cos, sin;
    auto make = [&](std::unique_ptr<DeviceBuffer>& dcos, std::unique_ptr<DeviceBuffer>& dsin) {
      const int64_t tbytes = static_cast<int64_t>(cos.size() * sizeof(float));
      dcos = std::make_unique<DeviceBuffer>(ops_, tbytes);
      dsin = std::make_unique<DeviceBuffer>(ops_, tbytes);
      ops_.upload(dcos->f32(), cos.data(), tbytes);
      ops_.upload(dsin->f32(), sin.data(), tbytes);
    };
    const RopeScaling& r = cfg.rope_scaling;
    const bool longrope = r.type == RopeScalingKind::LongRope;
    // a pass that reaches past originalMaxPositions takes the long tables, so the short ones
    // need no more rows than that
    rope_tables(cfg, longrope ? std::min(cfg.P, r.original_max_positions) : cfg.P, false, cos, sin);
    make(rope_cos_, rope_sin_);
    if (r.long_context(cfg.P)) {
      rope_tables(cfg, cfg.P, true, cos, sin);
      make(rope_long_cos_, rope_long_sin_);
    }
    if (cfg.local_rope()) {  // Gemma 3's local layers: their own base, no scaling
      GPTConfig local = cfg;
      local.rope_theta = cfg.rope_local_theta;
      local.rope_scaling = RopeScaling{};
      rope_tables(local, cfg.P, false, cos, sin);
      make(rope_local_cos_, rope_local_sin_);
    }
  }
}

GPT::~GPT() = default;

// Layer `layer`'s slice of a parameter tensor: ln1w..fcprojb are [L, ...]; wte, wpe, lnfw,
// lnfb and lmhead are shared (layer must be 0). Null for a tensor the config does not have
// (a missing bias, wpe under RoPE, ...), which the kernels take as "none".
float* GPT::param(ParamIndex i, int64_t layer) const {
  if (i == kNoParam || layout_[i].size == 0) return nullptr;
  const int64_t at = is_per_layer(i) ? layer * slice_size(i) : 0;
  if (!bf16_) return params_->f32() + layout_[i].offset + at;
  HG_CHECK(!layout_[i].is_matrix, std::string("GPT: ") + layout_[i].name + " is held as bf16 (internal error)");
  return params_->f32() + vec_offset_[i] + at;
}
uint16_t* GPT::w16(ParamIndex i, int64_t layer) const {
  if (i == kNoParam || layout_[i].size == 0) return nullptr;
  const int64_t at = is_per_layer(i) ? layer * slice_size(i) : 0;
  return static_cast<uint16_t*>(static_cast<void*>(w16_->f32())) + layout_[i].offset + at;
}
int64_t GPT::slice_size(ParamIndex i) const {
  return is_per_layer(i) ? layout_[i].size / cfg_.L : layout_[i].size;
}
int64_t GPT::slice_cols(ParamIndex i) const {
  if (!layout_[i].is_matrix) return slice_size(i);
  // fcprojw is [C, F], attprojw [C, H·hs]; every other matrix is [rows, C]
  return i == kFcprojw ? cfg_.ffn() : i == kAttprojw ? cfg_.qdim() : cfg_.C;
}
// Null during a scores-only backward: every kernel then skips that weight gradient. A bf16
// model has a gradient for a slice only when its trainable set covers the whole slice (partial
// slices are formed block by block in matmul_backward).
float* GPT::grad(ParamIndex i, int64_t layer) const {
  if (scores_only_ || i == kNoParam || layout_[i].size == 0) return nullptr;
  if (!bf16_) return grads_->f32() + (param(i, layer) - params_->f32());
  const std::vector<int>& bs = blocks_of_[i * cfg_.L + layer];
  if (bs.size() != 1 || !grads_) return nullptr;
  const TrainBlock& b = blocks_[bs[0]];
  return b.nr * b.nc == slice_size(i) ? grads_->f32() + b.offset : nullptr;
}

// Rows of the LM head's logits a scores-only pass holds at a time: [64, V] is 33 MB at
// Llama 3's V = 128256, where the whole [N, V] would be 263 MB for 4 rows of 128 tokens.
constexpr int64_t kLogitChunk = 64;

// Lays out every activation buffer for N rows in one arena (the one place that sizes them:
// plan_activations allocates this plan, activation_bytes reports its size to the memory planner).
// A scores-only plan keeps one layer's slice of the linear layers' inputs (Li = 1; only weight
// gradients read them: see Acts) and logits for kLogitChunk rows.
void GPT::lay_out_activations(const GPTConfig& cfg, int64_t N, bool scores_only, Acts* a, ArenaPlanner& p) {
  const int64_t L = cfg.L, C = cfg.C, V = cfg.V, H = cfg.H;
  const int64_t QKV = cfg.qkv_rows(), KVC = cfg.kv() * cfg.hs(), F = cfg.ffn(), FC = cfg.fc_rows();
  const int64_t QD = cfg.qdim(), G = cfg.qk_groups(), post = cfg.post_norm() ? 1 : 0;
  const int64_t Li = scores_only ? 1 : L, Lqkv = scores_only && G == 0 ? 1 : L;
  a->scores_only = scores_only;
  a->logit_rows = scores_only ? std::min(N, kLogitChunk) : N;
  p.add(a->tokens, N);
  p.add(a->targets, N);
  p.add(a->weights, N);
  p.add(a->losses, N);
  p.add(a->encoded, N * C);
  p.add(a->ln1, Li * N * C);
  p.add(a->ln1_mean, L * N);
  p.add(a->ln1_rstd, L * N);
  p.add(a->qkv, Lqkv * N * QKV);
  p.add(a->q, L * N * QD);
  p.add(a->k, L * N * KVC);
  p.add(a->v, L * N * KVC);
  p.add(a->atto, L * N * QD);
  p.add(a->lse, L * N * H);
  p.add(a->atty, Li * N * QD);
  p.add(a->qkvn, G > 0 ? N * QKV : 0);
  p.add(a->qk_rstd, L * N * G);
  p.add(a->attn_out, post * L * N * C);
  p.add(a->attn_rstd, post * L * N);
  p.add(a->ffn_out, post * L * N * C);
  p.add(a->ffn_rstd, post * L * N);
  p.add(a->residual2, L * N * C);
  p.add(a->ln2, Li * N * C);
  p.add(a->ln2_mean, L * N);
  p.add(a->ln2_rstd, L * N);
  p.add(a->fch, L * N * FC);
  p.add(a->fch_gelu, Li * N * F);
  p.add(a->residual3, L * N * C);
  p.add(a->lnf, N * C);
  p.add(a->lnf_mean, N);
  p.add(a->lnf_rstd, N);
  p.add(a->logits, a->logit_rows * V);
  p.add(a->softcap_d, cfg.final_softcap > 0 ? a->logit_rows * V : 0);
  p.add(a->proj, N * C);
  p.add(a->dresidual, N * C);
  p.add(a->dln, N * C);
  p.add(a->datty, N * QD);
  p.add(a->dao, N * QD);
  p.add(a->dpost, post * N * C);
  p.add(a->dq, N * QD);
  p.add(a->dk, N * KVC);
  p.add(a->dv, N * KVC);
  p.add(a->dqkv, N * QKV);
  p.add(a->dfch, N * FC);
  p.add(a->dact, cfg.gated() ? N * F : 0);
  p.add(a->head_scores, L * N * H);
}

int64_t GPT::activation_bytes(const GPTConfig& cfg, int64_t N, bool scores_only) {
  Acts a;
  ArenaPlanner p;
  lay_out_activations(cfg, N, scores_only, &a, p);
  return p.total();
}

// A full plan serves scores-only passes too; a scores-only plan only them (lib/model.ts mirrors
// this rule to check the memory a re-plan needs).
void GPT::plan_activations(int64_t N, bool scores_only) {
  if (acts_ && acts_->N >= N && (scores_only || !acts_->scores_only)) return;
  acts_.reset();  // release the old plan before allocating the new one
  auto a = std::make_unique<Acts>();
  ArenaPlanner p;
  lay_out_activations(cfg_, N, scores_only, a.get(), p);
  a->arena = p.allocate(ops_);
  a->N = N;
  acts_ = std::move(a);
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
  plan_activations(N, scores_only);
  Acts& a = *acts_;
  B_ = B;
  T_ = T;
  ops_.upload(a.tokens, tokens, N * 4);
  {
    auto s = prof_.scope(OpKind::Embedding);
    if (bf16_) ops_.bf16w->encoder_forward(a.encoded, a.tokens, w16(kWte), w16(kWpe), B, T, C);
    else ops_.encoder_forward(a.encoded, a.tokens, param(kWte), param(kWpe), B, T, C);
    if (cfg_.embed_scale != 1.0) ops_.scale(a.encoded, static_cast<float>(cfg_.embed_scale), N * C);
  }
  for (int64_t l = 0; l < L; ++l)
    block_forward(l, layer_io(l, l == 0 ? a.encoded : a.residual3 + (l - 1) * N * C, N), B, T, 0, false);
  norm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, a.residual3 + (L - 1) * N * C, kLnfw, kLnfb, 0, N);

  // Weights: the given ones, or 1/(number of positions with a target); 0 where target is -1.
  std::vector<float> w(static_cast<size_t>(N), 0.f);
  if (targets) {
    int64_t counted = 0;
    for (int64_t i = 0; i < N; ++i) counted += targets[i] >= 0;
    for (int64_t i = 0; i < N; ++i) {
      if (targets[i] < 0) continue;
      w[i] = loss_weights ? loss_weights[i] : 1.f / static_cast<float>(counted);
    }
  }
  if (scores_only) {
    const double loss = head_at_targets(targets, w.data(), N);
    ready_for_backward_ = true;
    return loss;
  }
  {
    auto s = prof_.gemm_scope(2.0 * N * C * V);
    if (bf16_) ops_.bf16w->linear_forward(a.logits, a.lnf, w16(lm_index()), nullptr, N, C, V);
    else ops_.matmul_forward(a.logits, a.lnf, param(lm_index()), nullptr, N, C, V);
  }
  final_softcap_forward(N);  // the logits are the capped ones everywhere after this
  if (logits_out) ops_.download(logits_out, a.logits, N * V * 4);
  if (!targets) return std::numeric_limits<double>::quiet_NaN();
  ops_.upload(a.targets, targets, N * 4);
  ops_.upload(a.weights, w.data(), N * 4);
  std::vector<float> losses(static_cast<size_t>(N));
  {
    auto s = prof_.scope(OpKind::Loss);
    ops_.softmax_crossentropy_forward(a.logits, a.losses, a.targets, N, V);
    ops_.download(losses.data(), a.losses, N * 4);
  }
  // The same sum in the same row order as head_at_targets (rows without a target add exactly 0).
  double loss = 0.0;
  for (int64_t i = 0; i < N; ++i) loss += static_cast<double>(w[i]) * losses[i];
  ready_for_backward_ = true;
  return loss;
}

// The scores-only LM head and loss over the target rows (target_rows_), a.logit_rows of them at a
// time, so that the [rows, V] logits are never resident whole: logits -> probs and losses ->
// dlogits -> dL/dlnf at those rows. The backward of the loss and the head runs here because the
// loss is the head's only consumer; a.dln [N,C] keeps dL/dlnf (0 at rows without a target) for
// backward(). Rows are gathered and scattered through the host (the kernels have no gather).
// Returns Σ weights·losses in row order, as the full forward sums it.
double GPT::head_at_targets(const int32_t* targets, const float* weights, int64_t N) {
  Acts& a = *acts_;
  const int64_t C = cfg_.C, V = cfg_.V, NL = static_cast<int64_t>(target_rows_.size()), R = a.logit_rows;
  std::vector<float> lnf(static_cast<size_t>(N * C)), dlnf(static_cast<size_t>(N * C), 0.f);
  std::vector<float> rows(static_cast<size_t>(R * C)), w(static_cast<size_t>(R)), losses(static_cast<size_t>(R));
  std::vector<int32_t> t(static_cast<size_t>(R));
  ops_.download(lnf.data(), a.lnf, N * C * 4);
  const float* head_f32 = bf16_ ? nullptr : param(lm_index());
  const uint16_t* head_bf16 = bf16_ ? w16(lm_index()) : nullptr;
  double loss = 0.0;
  for (int64_t r0 = 0; r0 < NL; r0 += R) {
    const int64_t n = std::min(R, NL - r0);
    for (int64_t r = 0; r < n; ++r) {  // gather: a.proj [n,C] = lnf at the chunk's target rows
      const int64_t row = target_rows_[r0 + r];
      std::memcpy(&rows[r * C], &lnf[row * C], C * sizeof(float));
      t[r] = targets[row];
      w[r] = weights[row];
    }
    ops_.upload(a.proj, rows.data(), n * C * 4);
    ops_.upload(a.targets, t.data(), n * 4);
    ops_.upload(a.weights, w.data(), n * 4);
    {
      auto s = prof_.gemm_scope(2.0 * n * C * V);
      if (bf16_) ops_.bf16w->linear_forward(a.logits, a.proj, head_bf16, nullptr, n, C, V);
      else ops_.matmul_forward(a.logits, a.proj, head_f32, nullptr, n, C, V);
    }
    final_softcap_forward(n);
    {
      auto s = prof_.scope(OpKind::Loss);
      ops_.softmax_crossentropy_forward(a.logits, a.losses, a.targets, n, V);
      ops_.download(losses.data(), a.losses, n * 4);
      ops_.softmax_crossentropy_backward(a.logits, a.targets, a.weights, n, V);
    }
    final_softcap_backward(n);
    for (int64_t r = 0; r < n; ++r) loss += static_cast<double>(w[r]) * losses[r];
    {
      // Forward (above): logits = proj · headᵀ.  dproj = dlogits · head
      auto s = prof_.gemm_scope(2.0 * n * C * V);
      if (bf16_) ops_.bf16w->linear_backward_input(a.proj, a.logits, head_bf16, n, C, V);
      else ops_.matmul_backward(a.proj, nullptr, nullptr, a.logits, nullptr, head_f32, n, C, V);
    }
    ops_.download(rows.data(), a.proj, n * C * 4);
    for (int64_t r = 0; r < n; ++r)  // scatter
      std::memcpy(&dlnf[target_rows_[r0 + r] * C], &rows[r * C], C * sizeof(float));
  }
  ops_.upload(a.dln, dlnf.data(), N * C * 4);
  return loss;
}

// finalSoftcap on rows [0, n) of a.logits: z -> cap·tanh(z/cap), keeping 1 − tanh² in
// a.softcap_d for the backward (same rows). Nothing without the cap.
void GPT::final_softcap_forward(int64_t n) {
  if (cfg_.final_softcap == 0 || n == 0) return;
  auto s = prof_.scope(OpKind::Loss);
  ops_.softcap_forward(acts_->logits, acts_->softcap_d, n * cfg_.V, static_cast<float>(cfg_.final_softcap));
}

// Backward of final_softcap_forward: the dlogits of rows [0, n) times 1 − tanh².
void GPT::final_softcap_backward(int64_t n) {
  if (cfg_.final_softcap == 0 || n == 0) return;
  auto s = prof_.scope(OpKind::Loss);
  ops_.softcap_backward(acts_->logits, acts_->softcap_d, n * cfg_.V);
}

void GPT::backward(float* head_scores, bool scores_only) {
  HG_CHECK(ready_for_backward_, "backward: needs a forward with targets first (and only one backward per forward)");
  HG_CHECK(scores_only || !logits_at_targets_,
           "backward: the forward was scores-only (logits at target positions only); a full backward needs a full forward");
  Acts& a = *acts_;
  const int64_t B = B_, T = T_, N = B * T, C = cfg_.C, V = cfg_.V, L = cfg_.L, H = cfg_.H;
  ready_for_backward_ = false;  // the logits buffer becomes dlogits below
  ready_for_step_ = false;
  last_backward_scores_only_ = scores_only;
  if (!scores_only) {  // an f32 model's gradient covers every parameter, a bf16 model's its trained blocks
    const int64_t n = bf16_ ? trained_ : num_params_;
    if (!grads_) grads_ = std::make_unique<DeviceBuffer>(ops_, n * 4);  // zeroed
    else ops_.zero(grads_->f32(), n * 4);
  }
  ops_.zero(a.dresidual, N * C * 4);
  struct ScoresOnly {  // grad() is null until the end of this backward, also on an error
    bool& flag;
    ~ScoresOnly() { flag = false; }
  } restore{scores_only_};
  scores_only_ = scores_only;
  if (!logits_at_targets_) {  // (after a scores-only forward, a.dln holds dL/dlnf already: head_at_targets)
    {
      // Forward: ops_.softmax_crossentropy_forward(a.logits, a.losses, a.targets, N, V);
      auto s = prof_.scope(OpKind::Loss);
      ops_.softmax_crossentropy_backward(a.logits, a.targets, a.weights, N, V);
    }
    final_softcap_backward(N);
    // Forward: ops_.matmul_forward(a.logits, a.lnf, head, nullptr, N, C, V);
    if (bf16_) {
      matmul_backward(a.dln, a.logits, a.lnf, lm_index(), kNoParam, 0, N, C, V);
    } else {
      auto s = prof_.gemm_scope((scores_only ? 2.0 : 4.0) * N * C * V);
      ops_.matmul_backward(a.dln, grad(lm_index()), nullptr, a.logits, a.lnf, param(lm_index()), N, C, V);
    }
  }
  // Forward: norm_forward(a.lnf, ..., residual3_{L-1}, kLnfw, kLnfb, 0, N);
  norm_backward(a.dresidual, a.dln, a.residual3 + (L - 1) * N * C, kLnfw, kLnfb, 0, a.lnf_mean, a.lnf_rstd, N);
  for (int64_t l = L - 1; l >= 0; --l) {
    block_backward(l, layer_io(l, l == 0 ? a.encoded : a.residual3 + (l - 1) * N * C, N), B, T, a.head_scores + l * B * H);
  }
  if (!scores_only) {
    // Forward: ops_.encoder_forward(a.encoded, a.tokens, wte, wpe, B, T, C);
    auto s = prof_.scope(OpKind::Embedding);
    // (a bf16 model that does not train the embeddings forms no gradient for them)
    if (float* dwte = grad(kWte)) {
      // Forward: ops_.scale(a.encoded, embed_scale, N * C);
      if (cfg_.embed_scale != 1.0) ops_.scale(a.dresidual, static_cast<float>(cfg_.embed_scale), N * C);
      ops_.encoder_backward(dwte, grad(kWpe), a.dresidual, a.tokens, B, T, C);
    }
  }
  ops_.download(head_scores, a.head_scores, L * B * H * 4);
  ready_for_step_ = !scores_only;
}

void GPT::set_head_gates(const float* gates) { ops_.upload(gates_->f32(), gates, gates_->bytes()); }

void GPT::export_parameters(float* host) const { export_parameter_range(0, num_params_, host); }

void GPT::import_parameters(const float* host) { import_parameter_range(0, num_params_, host); }

namespace {
// fn(tensor, first, count): the part [first, first+count) of [offset, offset+n) in each tensor.
template <class F>
void for_each_tensor_part(const ParamLayout& layout, int64_t offset, int64_t n, F&& fn) {
  for (int i = 0; i < kNumParamTensors; ++i) {
    const ParamTensor& t = layout[i];
    const int64_t lo = std::max(offset, t.offset), hi = std::min(offset + n, t.offset + t.size);
    if (lo < hi) fn(static_cast<ParamIndex>(i), lo, hi - lo);
  }
}
constexpr int64_t kHostChunk = int64_t{1} << 20;  // elements converted per host round trip
}  // namespace

void GPT::export_parameter_range(int64_t offset, int64_t n, float* host) const {
  HG_CHECK(offset >= 0 && n >= 0 && offset + n <= num_params_,
           "exportParameterRange: [" + std::to_string(offset) + ", " + std::to_string(offset + n) +
               ") is outside the " + std::to_string(num_params_) + " parameters");
  if (n == 0) return;
  if (!bf16_) return ops_.download(host, params_->f32() + offset, n * 4);
  std::vector<uint16_t> bits;
  for_each_tensor_part(layout_, offset, n, [&](ParamIndex i, int64_t first, int64_t count) {
    float* out = host + (first - offset);
    const int64_t at = first - layout_[i].offset;
    if (!layout_[i].is_matrix) return ops_.download(out, params_->f32() + vec_offset_[i] + at, count * 4);
    for (int64_t done = 0; done < count; done += kHostChunk) {  // widened exactly
      const int64_t m = std::min(kHostChunk, count - done);
      bits.resize(static_cast<size_t>(m));
      ops_.download(bits.data(), w16(i) + at + done, m * 2);
      for (int64_t k = 0; k < m; ++k) out[done + k] = from_bf16(bits[k]);
    }
  });
  if (master_) overlay_blocks(master_->f32(), offset, n, host);  // the masters win where they exist
}

// Writes [offset, offset+n) into the weights as this model holds them (rounding a bf16 model's
// matrices once); the optimizer state is the caller's business.
void GPT::write_range(int64_t offset, int64_t n, const float* host) {
  if (n == 0) return;
  if (!bf16_) return ops_.upload(params_->f32() + offset, host, n * 4);
  std::vector<uint16_t> bits;
  for_each_tensor_part(layout_, offset, n, [&](ParamIndex i, int64_t first, int64_t count) {
    const float* in = host + (first - offset);
    const int64_t at = first - layout_[i].offset;
    if (!layout_[i].is_matrix) return ops_.upload(params_->f32() + vec_offset_[i] + at, in, count * 4);
    for (int64_t done = 0; done < count; done += kHostChunk) {
      const int64_t m = std::min(kHostChunk, count - done);
      bits.resize(static_cast<size_t>(m));
      for (int64_t k = 0; k < m; ++k) bits[k] = to_bf16(in[done + k]);
      ops_.upload(w16(i) + at + done, bits.data(), m * 2);
    }
  });
}

void GPT::import_parameter_range(int64_t offset, int64_t n, const float* host) {
  HG_CHECK(offset >= 0 && n >= 0 && offset + n <= num_params_,
           "importParameterRange: [" + std::to_string(offset) + ", " + std::to_string(offset + n) +
               ") is outside the " + std::to_string(num_params_) + " parameters");
  write_range(offset, n, host);
  ready_for_backward_ = ready_for_step_ = last_backward_scores_only_ = false;  // activations and gradients are stale now
  // New weights start a new optimisation: moments and the bias-correction count of the old
  // trajectory would otherwise push the first steps in the old gradients' direction. A bf16
  // model's masters go too (the next step widens them from the new weights).
  m_.reset();
  v_.reset();
  master_.reset();
  steps_ = 0;
}

void GPT::import_parameter_range_bf16(int64_t offset, int64_t n, const uint16_t* host) {
  HG_CHECK(offset >= 0 && n >= 0 && offset + n <= num_params_,
           "importParameterRangeBf16: [" + std::to_string(offset) + ", " + std::to_string(offset + n) +
               ") is outside the " + std::to_string(num_params_) + " parameters");
  std::vector<float> wide;
  for_each_tensor_part(layout_, offset, n, [&](ParamIndex i, int64_t first, int64_t count) {
    const uint16_t* in = host + (first - offset);
    if (bf16_ && layout_[i].is_matrix) return ops_.upload(w16(i) + (first - layout_[i].offset), in, count * 2);  // as is
    for (int64_t done = 0; done < count; done += kHostChunk) {  // widened exactly (f32 storage)
      const int64_t m = std::min(kHostChunk, count - done);
      wide.resize(static_cast<size_t>(m));
      for (int64_t k = 0; k < m; ++k) wide[k] = from_bf16(in[done + k]);
      write_range(first + done, m, wide.data());
    }
  });
  import_parameter_range(offset, 0, nullptr);  // forgets gradients and the optimizer state, as an f32 import does
}

void GPT::export_gradients(float* host) const {
  HG_CHECK(!last_backward_scores_only_, "exportGradients: the last backward was scores-only (no weight gradients)");
  HG_CHECK(ready_for_step_, "exportGradients: needs a backward first");
  if (!bf16_) return ops_.download(host, grads_->f32(), num_params_ * 4);
  std::fill(host, host + num_params_, 0.f);  // not formed outside the trainable set
  if (grads_) overlay_blocks(grads_->f32(), 0, num_params_, host);
}

ResidentBytes GPT::resident_bytes() const {
  ResidentBytes r;
  auto bytes = [](const std::unique_ptr<DeviceBuffer>& b) { return b ? b->bytes() : int64_t{0}; };
  (bf16_ ? r.vectors_f32 : r.weights_f32) = bytes(params_);
  r.weights_bf16 = bytes(w16_);
  r.master = bytes(master_);
  r.grads = bytes(grads_);
  r.moments = bytes(m_) + bytes(v_);
  r.activations = acts_ ? bytes(acts_->arena) : 0;
  r.decode = decode_ ? bytes(decode_->arena) : 0;
  r.other = bytes(gates_) + bytes(rope_cos_) + bytes(rope_sin_) + bytes(rope_local_cos_) + bytes(rope_local_sin_) +
            bytes(rope_long_cos_) + bytes(rope_long_sin_);
  return r;
}

}  // namespace hg
