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

}  // namespace

// The trainable set's blocks (gpt_trainable.cpp) as spans of the flat arrays: canonical offsets
// in increasing order, touching runs merged.
std::vector<ParamSpan> GPT::trainable_spans(const StepOptions& o) const {
  struct Run {
    int64_t offset, size;
    bool decay;
  };
  std::vector<Run> runs;
  for (const TrainBlock& b : trained_blocks(trainable_of(o))) {
    const int64_t cols = slice_cols(b.t), base = layout_[b.t].offset + b.l * slice_size(b.t);
    const bool decay = layout_[b.t].is_matrix;
    if (b.nc == cols) runs.push_back({base + b.r0 * cols, b.nr * cols, decay});  // whole rows: one run
    else
      for (int64_t r = 0; r < b.nr; ++r) runs.push_back({base + (b.r0 + r) * cols + b.c0, b.nc, decay});
  }
  std::sort(runs.begin(), runs.end(), [](const Run& x, const Run& y) { return x.offset < y.offset; });
  std::vector<ParamSpan> spans;
  for (const Run& r : runs) push_span(spans, r.offset, r.size, r.decay);
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
    if (b.nc == cols) {  // whole rows: one contiguous run
      export_parameter_range(first, b.nr * b.nc, master + b.offset);
      continue;
    }
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
