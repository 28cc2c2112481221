// The optimizer step: which parameters train (spans), global-norm clipping, AdamW.
//
// Weight decay (decoupled, p -= lr·wd·p) applies to the 2-D weights, as in GPT-2 practice:
// wte, wpe, qkvw, attprojw, fcw, fcprojw, lmhead. Biases and norm weights are not decayed.
//
// Head-targeted training (trainable_heads, per query head): query head h of layer l owns rows
// h·hs..(h+1)·hs-1 of the Q block of qkvw and qkvb, and input columns h·hs..(h+1)·hs-1 of
// attprojw. The K and V rows of k/v head g (g·hs.. of the K and V blocks) train when any query
// head of its group (g·H/KV .. (g+1)·H/KV − 1) is trainable; with KV = H that is head g alone.
// attprojb is shared by all heads of a layer, so it stays frozen in this mode. Frozen
// parameters are neither read nor written by the step, their AdamW moments included.
//
// The bias corrections use the model's step count; a parameter that was frozen during earlier
// steps starts its moments at zero with that later count (a documented approximation).
#include <algorithm>
#include <cmath>
#include <string>

#include "core/errors.h"
#include "core/gpt.h"
#include "core/gpt_buffers.h"

namespace hg {

namespace {

// Appends [offset, offset+size), merging it into the previous span when they touch (spans are
// produced in increasing offset order).
void push_span(std::vector<ParamSpan>& spans, int64_t offset, int64_t size, bool decay) {
  if (!spans.empty()) {
    ParamSpan& last = spans.back();
    if (last.offset + last.size == offset && last.decay == decay) {
      last.size += size;
      return;
    }
  }
  spans.push_back({offset, size, decay});
}

bool in_group(int i, bool mlp, bool layernorm, bool embeddings) {
  switch (i) {
    case kWte: case kWpe: case kLmhead: return embeddings;
    case kLn1w: case kLn1b: case kLn2w: case kLn2b: case kLnfw: case kLnfb:
    case kQnw: case kKnw: case kPostAttnw: case kPostFfnw: return layernorm;
    case kFcw: case kFcb: case kFcprojw: case kFcprojb: return mlp;
    default: return false;
  }
}

}  // namespace

std::vector<ParamSpan> GPT::trainable_spans(const StepOptions& o) const {
  std::vector<ParamSpan> spans;
  const bool all = o.trainable_heads.empty();
  const int64_t L = cfg_.L, H = cfg_.H, C = cfg_.C, hs = cfg_.hs(), KV = cfg_.kv(), QKV = cfg_.qkv_rows();
  const int64_t QD = cfg_.qdim();
  const int64_t group = H / KV;
  auto head_on = [&](int64_t l, int64_t h) { return o.trainable_heads[l * H + h] != 0; };
  auto kv_on = [&](int64_t l, int64_t g) {  // any query head of k/v group g
    for (int64_t h = g * group; h < (g + 1) * group; ++h)
      if (head_on(l, h)) return true;
    return false;
  };
  for (int i = 0; i < kNumParamTensors; ++i) {
    const ParamTensor& t = layout_[i];
    if (t.size == 0) continue;  // a tensor this config does not have
    if (all || in_group(i, o.train_mlp, o.train_layernorm, o.train_embeddings)) {
      push_span(spans, t.offset, t.size, t.is_matrix);
    } else if (i == kQkvw || i == kQkvb) {
      const int64_t row = i == kQkvw ? C : 1;  // floats per output row
      for (int64_t l = 0; l < L; ++l) {
        const int64_t base = t.offset + l * QKV * row;
        for (int64_t h = 0; h < H; ++h)  // Q block: rows h·hs of H·hs
          if (head_on(l, h)) push_span(spans, base + h * hs * row, hs * row, t.is_matrix);
        for (int64_t part = 0; part < 2; ++part)  // K block at row H·hs, V block at (H + KV)·hs
          for (int64_t g = 0; g < KV; ++g)
            if (kv_on(l, g)) push_span(spans, base + ((H + part * KV + g) * hs) * row, hs * row, t.is_matrix);
      }
    } else if (i == kAttprojw) {
      for (int64_t l = 0; l < L; ++l)
        for (int64_t r = 0; r < C; ++r)  // each output row [QD]: the head's input columns
          for (int64_t h = 0; h < H; ++h)
            if (head_on(l, h)) push_span(spans, t.offset + (l * C + r) * QD + h * hs, hs, true);
    }
  }
  return spans;
}

void GPT::step(const StepOptions& o) {
  HG_CHECK(!last_backward_scores_only_, "step: the last backward was scores-only (no weight gradients); run a full backward first");
  HG_CHECK(ready_for_step_, "step: needs a backward first (each backward allows one step)");
  HG_CHECK(o.trainable_heads.empty() || static_cast<int64_t>(o.trainable_heads.size()) == cfg_.L * cfg_.H,
           "step: trainableHeads must have layers*heads = " + std::to_string(cfg_.L * cfg_.H) +
               " entries, got " + std::to_string(o.trainable_heads.size()));
  auto s = prof_.scope(OpKind::Optimizer);
  // An f32 model: flat arrays over every parameter, the spans pick what trains. A bf16 model:
  // compact arrays over its trainable set's blocks (masters widened from the bf16 weights at
  // the first step), and that set must be the one its gradients were formed for.
  if (bf16_ && trainable_of(o) != trainable_)
    throw_range("step: a bf16 model forms gradients only for the set given to setTrainable(), and this step names "
                "another; call setTrainable() with it before backward()");
  const int64_t n = bf16_ ? trained_ : num_params_;
  if (!m_) {  // moments are allocated on the first step: inference-only models never pay
    m_ = std::make_unique<DeviceBuffer>(ops_, n * 4);
    v_ = std::make_unique<DeviceBuffer>(ops_, n * 4);
  }
  if (bf16_ && !master_) {
    master_ = std::make_unique<DeviceBuffer>(ops_, n * 4);
    sync_masters(false);
  }
  const std::vector<ParamSpan> spans = bf16_ ? compact_spans() : trainable_spans(o);
  // The global norm of the gradients this step applies, always: a NaN or Inf among them would
  // poison every parameter it touches and the moments with it, so such a step is refused and
  // leaves the parameters, the moments and the step count as they were.
  const double norm = std::sqrt(ops_.sum_squares(grads_->f32(), spans.data(), static_cast<int64_t>(spans.size())));
  if (!std::isfinite(norm))
    throw_range(std::string("step: the gradients are not finite (global norm ") + (std::isnan(norm) ? "NaN" : "Infinity") +
                "); the parameters and the optimizer state were left unchanged");
  float grad_scale = 1.f;
  // As torch.nn.utils.clip_grad_norm_, over the gradients this step applies.
  if (o.grad_clip > 0.f && norm > o.grad_clip) grad_scale = static_cast<float>(o.grad_clip / (norm + 1e-6));
  ++steps_;
  const AdamWParams hp{o.lr, o.beta1, o.beta2, o.eps, o.weight_decay, grad_scale, steps_};
  ops_.adamw(bf16_ ? master_->f32() : params_->f32(), grads_->f32(), m_->f32(), v_->f32(), spans.data(),
             static_cast<int64_t>(spans.size()), hp);
  if (bf16_) sync_masters(true);  // the trained slices' new values, rounded into the bf16 weights
  ready_for_step_ = false;
}

int64_t GPT::optimizer_steps() const { return steps_; }

int64_t GPT::optimizer_state_size() const { return bf16_ ? trained_ : num_params_; }

void GPT::export_optimizer_state(float* m, float* v, float* master) const {
  const int64_t n = optimizer_state_size();
  HG_CHECK(!bf16_ || master, "exportOptimizerState: a bf16 model's state includes its f32 masters (internal error)");
  if (!m_) {  // no step yet: the moments are zero
    std::fill(m, m + n, 0.f);
    std::fill(v, v + n, 0.f);
  } else {
    ops_.download(m, m_->f32(), n * 4);
    ops_.download(v, v_->f32(), n * 4);
  }
  if (!bf16_) return;
  // The masters, or what the first step would widen them from.
  for (const TrainBlock& b : blocks_) {
    const int64_t cols = slice_cols(b.t);
    const int64_t first = layout_[b.t].offset + b.l * slice_size(b.t) + b.r0 * cols + b.c0;
    for (int64_t r = 0; r < b.nr; ++r)
      export_parameter_range(first + r * cols, b.nc, master + b.offset + r * b.nc);
  }
}

void GPT::import_optimizer_state(const float* m, const float* v, int64_t steps, const float* master) {
  HG_CHECK(steps >= 0, "importOptimizerState: step must be >= 0, got " + std::to_string(steps));
  HG_CHECK(!bf16_ || master, "importOptimizerState: a bf16 model needs the f32 masters (state.master)");
  const int64_t n = optimizer_state_size();
  if (!m_) {
    m_ = std::make_unique<DeviceBuffer>(ops_, n * 4);
    v_ = std::make_unique<DeviceBuffer>(ops_, n * 4);
  }
  ops_.upload(m_->f32(), m, n * 4);
  ops_.upload(v_->f32(), v, n * 4);
  if (bf16_) {
    if (!master_) master_ = std::make_unique<DeviceBuffer>(ops_, n * 4);
    ops_.upload(master_->f32(), master, n * 4);
    sync_masters(true);  // the weights are the masters rounded, as after the step that saved them
  }
  steps_ = steps;
}

}  // namespace hg
