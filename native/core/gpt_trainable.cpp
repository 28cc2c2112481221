// Which parameters a step updates, written once: trained_blocks() lists the trainable set as
// blocks of layer slices. A bf16 model keeps them as its compact masters, gradient and AdamW
// moments (plan_trained_blocks; sync_masters moves values between those masters and the bf16
// weights); an f32 model's step turns them into spans of its flat arrays (gpt_step.cpp).
//
// The rule (StepOptions, docs/memory.md): whole layer slices for everything, the MLPs, the norms
// or the embeddings; in head modes the Q rows of a chosen head, the K/V rows of a k/v group with
// a chosen head, and the head's attprojw columns.
#include <algorithm>
#include <string>

#include "core/errors.h"
#include "core/gpt.h"
#include "core/gpt_buffers.h"

namespace hg {

Trainable trainable_of(const StepOptions& o) {
  Trainable t;
  t.heads = o.trainable_heads;
  t.mlp = o.train_mlp;
  t.layernorm = o.train_layernorm;
  t.embeddings = o.train_embeddings;
  return t;
}

namespace {
// The parameter groups StepOptions' switches name.
bool in_group(int i, const Trainable& t) {
  switch (i) {
    case kWte: case kWpe: case kLmhead: return t.embeddings;
    case kLn1w: case kLn1b: case kLn2w: case kLn2b: case kLnfw: case kLnfb:
    case kQnw: case kKnw: case kPostAttnw: case kPostFfnw: return t.layernorm;
    case kFcw: case kFcb: case kFcprojw: case kFcprojb: return t.mlp;
    default: return false;
  }
}
}  // namespace

std::vector<GPT::TrainBlock> GPT::trained_blocks(const Trainable& tr) const {
  std::vector<TrainBlock> blocks;
  const bool all = tr.heads.empty();
  const int64_t L = cfg_.L, H = cfg_.H, C = cfg_.C, hs = cfg_.hs(), KV = cfg_.kv(), group = H / KV;
  auto head_on = [&](int64_t l, int64_t h) { return tr.heads[l * H + h] != 0; };
  auto kv_on = [&](int64_t l, int64_t g) {  // any query head of k/v group g
    for (int64_t h = g * group; h < (g + 1) * group; ++h)
      if (head_on(l, h)) return true;
    return false;
  };
  int64_t offset = 0;
  for (int i = 0; i < kNumParamTensors; ++i) {
    const ParamTensor& t = layout_[i];
    if (t.size == 0) continue;  // a tensor this config does not have
    const ParamIndex pi = static_cast<ParamIndex>(i);
    const int64_t cols = slice_cols(pi), rows = slice_size(pi) / cols;  // vectors: [1, size]
    auto add = [&](int64_t l, int64_t r0, int64_t nr, int64_t c0, int64_t nc) {
      blocks.push_back({pi, l, r0, nr, c0, nc, offset});
      offset += nr * nc;
    };
    for (int64_t l = 0; l < (is_per_layer(i) ? L : 1); ++l) {
      if (all || in_group(i, tr)) {
        add(l, 0, rows, 0, cols);
      } else if (i == kQkvw || i == kQkvb) {  // rows of [QKV, C], or columns of the [1, QKV] bias
        std::vector<int64_t> starts;          // head blocks of hs outputs: Q heads, then K, then V groups
        for (int64_t h = 0; h < H; ++h)
          if (head_on(l, h)) starts.push_back(h * hs);
        for (int64_t part = 0; part < 2; ++part)
          for (int64_t g = 0; g < KV; ++g)
            if (kv_on(l, g)) starts.push_back((H + part * KV + g) * hs);
        for (int64_t r : starts) {
          if (i == kQkvw) add(l, r, hs, 0, C);
          else add(l, 0, 1, r, hs);
        }
      } else if (i == kAttprojw) {  // the head's input columns of [C, H·hs]
        for (int64_t h = 0; h < H; ++h)
          if (head_on(l, h)) add(l, 0, C, h * hs, hs);
      }
    }
  }
  return blocks;
}

void GPT::plan_trained_blocks() {
  blocks_.clear();
  blocks_of_.assign(static_cast<size_t>(kNumParamTensors * cfg_.L), {});
  trained_ = 0;
  if (!bf16_) return;
  blocks_ = trained_blocks(trainable_);
  for (size_t k = 0; k < blocks_.size(); ++k) {
    const TrainBlock& b = blocks_[k];
    blocks_of_[b.t * cfg_.L + b.l].push_back(static_cast<int>(k));
    trained_ += b.nr * b.nc;
  }
}

void GPT::set_trainable(const Trainable& t) {
  HG_CHECK(t.heads.empty() || static_cast<int64_t>(t.heads.size()) == cfg_.L * cfg_.H,
           "setTrainable: trainableHeads must have layers*heads = " + std::to_string(cfg_.L * cfg_.H) +
               " entries, got " + std::to_string(t.heads.size()));
  if (t == trainable_) return;
  if (bf16_) {
    if (master_ || m_)
      throw_range("setTrainable: this bf16 model holds optimizer state (masters and moments) for another trainable "
                  "set; importParameters() or a fresh model starts a new one");
    trainable_ = t;
    plan_trained_blocks();
    grads_.reset();  // formed for the old set
    ready_for_step_ = false;
    return;
  }
  trainable_ = t;
}

std::vector<ParamSpan> GPT::compact_spans() const {
  std::vector<ParamSpan> spans;
  for (const TrainBlock& b : blocks_) spans.push_back({b.offset, b.nr * b.nc, layout_[b.t].is_matrix});
  return spans;
}

void GPT::overlay_blocks(const float* compact, int64_t offset, int64_t n, float* host) const {
  for (const TrainBlock& b : blocks_) {
    const int64_t cols = slice_cols(b.t);
    const int64_t base = layout_[b.t].offset + b.l * slice_size(b.t);
    // a block whose rows are whole rows of the slice is one contiguous run
    const bool whole = b.nc == cols;
    const int64_t runs = whole ? 1 : b.nr, len = whole ? b.nr * b.nc : b.nc;
    for (int64_t r = 0; r < runs; ++r) {
      const int64_t first = base + (b.r0 + r) * cols + b.c0;  // canonical index of the run's start
      const int64_t lo = std::max(first, offset), hi = std::min(first + len, offset + n);
      if (lo < hi) ops_.download(host + (lo - offset), compact + b.offset + r * len + (lo - first), (hi - lo) * 4);
    }
  }
}

void GPT::sync_masters(bool to_weights) {
  const Bf16WeightOps& k = *ops_.bf16w;
  for (const TrainBlock& b : blocks_) {
    float* m = master_->f32() + b.offset;
    const int64_t cols = slice_cols(b.t);
    if (layout_[b.t].is_matrix) {
      uint16_t* w = w16(b.t, b.l) + b.r0 * cols + b.c0;
      if (to_weights) k.round_block(w, cols, m, b.nc, b.nr, b.nc);
      else k.widen_block(m, b.nc, w, cols, b.nr, b.nc);
    } else {
      float* p = param(b.t, b.l) + b.r0 * cols + b.c0;
      if (to_weights) k.copy_block(p, cols, m, b.nc, b.nr, b.nc);
      else k.copy_block(m, b.nc, p, cols, b.nr, b.nc);
    }
  }
}

}  // namespace hg
