// Greedy generation with a KV cache. The prompt goes through the blocks in one pass (its
// keys/values fill the cache); after that each new token costs one row through every block
// and attention against the cache. Same parameters and gates as forward(), so the chosen
// tokens equal the argmax of a full forward over the growing sequence.
#include <algorithm>
#include <string>

#include "core/errors.h"
#include "core/gpt.h"
#include "core/gpt_buffers.h"

namespace hg {

// Runs tokens [n] at positions pos..pos+n-1 through the model, extending the KV cache, and
// writes the logits of the last of them to last_logits (host [V]).
void GPT::decode(const int32_t* tokens, int64_t n, int64_t pos, float* last_logits) {
  DecodeState& d = *decode_;
  const int64_t C = cfg_.C, H = cfg_.H, KV = cfg_.kv(), P = d.capacity, hs = cfg_.hs(), V = cfg_.V;
  const int64_t QKV = cfg_.qkv_rows(), F = cfg_.ffn(), FC = cfg_.fc_rows();
  const bool rope = cfg_.positions == PosKind::Rope;
  ops_.upload(d.tokens, tokens, n * 4);
  if (bf16_) {  // x [n,C]
    const uint16_t* wpe = w16(kWpe);
    ops_.bf16w->encoder_forward(d.x, d.tokens, w16(kWte), wpe ? wpe + pos * C : nullptr, 1, n, C);
  } else {
    const float* wpe = param(kWpe);
    ops_.encoder_forward(d.x, d.tokens, param(kWte), wpe ? wpe + pos * C : nullptr, 1, n, C);
  }
  auto norm = [&](const float* inp, ParamIndex w, ParamIndex b, int64_t l, int64_t rows) {
    if (cfg_.norm == NormKind::LayerNorm)
      ops_.layernorm_forward(d.ln, d.mean, d.rstd, inp, param(w, l), param(b, l), rows, C);
    else
      ops_.rmsnorm_forward(d.ln, d.rstd, inp, param(w, l), rows, C, static_cast<float>(cfg_.norm_eps));
  };
  for (int64_t l = 0; l < cfg_.L; ++l) {
    float* kcache = d.kcache + l * KV * P * hs;
    float* vcache = d.vcache + l * KV * P * hs;
    norm(d.x, kLn1w, kLn1b, l, n);
    matmul_forward(d.qkv, d.ln, kQkvw, kQkvb, l, n, C, QKV);
    // rows are positions pos..pos+n-1: T = n makes row i's position pos + i
    if (rope) ops_.rope_forward(d.qkv, rope_cos_->f32(), rope_sin_->f32(), n, n, pos, H + KV, QKV, hs);
    ops_.attention_decode(d.atty, d.qkv, kcache, vcache, gates_->f32() + l * H, n, pos, H, KV, P, hs);
    matmul_forward(d.proj, d.atty, kAttprojw, kAttprojb, l, n, C, C);
    ops_.residual_forward(d.x, d.x, d.proj, n * C);
    norm(d.x, kLn2w, kLn2b, l, n);
    matmul_forward(d.fch, d.ln, kFcw, kFcb, l, n, C, FC);
    if (cfg_.mlp == MlpKind::SwiGLU) ops_.swiglu_forward(d.fch_gelu, d.fch, n, F);
    else ops_.gelu_forward(d.fch_gelu, d.fch, n * F);
    matmul_forward(d.proj, d.fch_gelu, kFcprojw, kFcprojb, l, n, F, C);
    ops_.residual_forward(d.x, d.x, d.proj, n * C);
  }
  const float* last = d.x + (n - 1) * C;  // only the last position needs logits
  norm(last, kLnfw, kLnfb, 0, 1);
  matmul_forward(d.logits, d.ln, lm_index(), kNoParam, 0, 1, C, V);
  ops_.download(last_logits, d.logits, V * 4);
}

std::vector<int32_t> GPT::generate(const std::vector<int32_t>& prompt, int64_t max_new,
                                   int32_t stop_token) {
  const int64_t n0 = static_cast<int64_t>(prompt.size());
  HG_CHECK(n0 >= 1, "generate: prompt must hold at least one token");
  HG_CHECK(max_new >= 0 && n0 + max_new <= cfg_.P,
           "generate: prompt length + maxNewTokens must be at most maxSeqLen = " + std::to_string(cfg_.P) +
               ", got " + std::to_string(n0) + " + " + std::to_string(max_new));
  // The cache and scratch hold the positions this call needs, not maxSeqLen: a long-context
  // model (maxSeqLen 131072) would otherwise reserve L·P·2·KV·hs floats for a short answer.
  const int64_t need = n0 + max_new;
  if (!decode_ || decode_->capacity < need) {
    decode_.reset();  // release the old cache before allocating the larger one
    auto d = std::make_unique<DecodeState>();
    const int64_t L = cfg_.L, C = cfg_.C, KVC = cfg_.kv() * cfg_.hs();
    const int64_t P = std::min(cfg_.P, (need + 63) / 64 * 64);
    d->capacity = P;
    ArenaPlanner p;
    p.add(d->tokens, P);
    p.add(d->kcache, L * P * KVC);
    p.add(d->vcache, L * P * KVC);
    p.add(d->x, P * C);
    p.add(d->ln, P * C);
    p.add(d->mean, P);
    p.add(d->rstd, P);
    p.add(d->qkv, P * cfg_.qkv_rows());
    p.add(d->atty, P * C);
    p.add(d->proj, P * C);
    p.add(d->fch, P * cfg_.fc_rows());
    p.add(d->fch_gelu, P * cfg_.ffn());
    p.add(d->logits, cfg_.V);
    d->arena = p.allocate(ops_);
    decode_ = std::move(d);
  }
  std::vector<int32_t> out;
  std::vector<float> logits(static_cast<size_t>(cfg_.V));
  int64_t pos = 0;
  const int32_t* next = prompt.data();
  int64_t n = n0;
  int32_t token = 0;
  while (static_cast<int64_t>(out.size()) < max_new) {
    decode(next, n, pos, logits.data());
    pos += n;
    int64_t best = 0;  // first maximum, like argmax
    for (int64_t v = 1; v < cfg_.V; ++v) best = logits[v] > logits[best] ? v : best;
    token = static_cast<int32_t>(best);
    if (token == stop_token) break;
    out.push_back(token);
    next = &token;
    n = 1;
  }
  return out;
}

}  // namespace hg
