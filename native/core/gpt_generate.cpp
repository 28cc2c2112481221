// Greedy generation with a KV cache. The prompt goes through the blocks in one pass (its
// keys/values fill the cache); after that each new token costs one row through every block
// and attention against the cache. Same parameters and gates as forward(), so the chosen
// tokens equal the argmax of a full forward over the growing sequence (under longrope too: the
// cache is recomputed once, when the sequence first grows past originalMaxPositions).
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
  const int64_t C = cfg_.C, V = cfg_.V;
  ops_.upload(d.tokens, tokens, n * 4);
  if (bf16_) {  // x [n,C]
    const uint16_t* wpe = w16(kWpe);
    ops_.bf16w->encoder_forward(d.x, d.tokens, w16(kWte), wpe ? wpe + pos * C : nullptr, 1, n, C);
  } else {
    const float* wpe = param(kWpe);
    ops_.encoder_forward(d.x, d.tokens, param(kWte), wpe ? wpe + pos * C : nullptr, 1, n, C);
  }
  if (cfg_.embed_scale != 1.0) ops_.scale(d.x, static_cast<float>(cfg_.embed_scale), n * C);
  BlockIO io;  // the residual stream x is updated in place
  io.res_in = io.res2 = io.res3 = d.x;
  io.ln1 = io.ln2 = d.ln;
  io.ln1_mean = io.ln2_mean = d.mean;
  io.ln1_rstd = io.ln2_rstd = d.rstd;
  io.qkv = io.qkv_att = d.qkv;  // the Q/K norm runs in place
  io.qk_rstd = d.qk_rstd;
  io.attn_out = io.ffn_out = d.post;
  io.attn_rstd = io.ffn_rstd = d.post_rstd;
  io.atty = d.atty;
  io.fch = d.fch;
  io.fch_act = d.fch_gelu;
  io.proj = d.proj;
  for (int64_t l = 0; l < cfg_.L; ++l) block_forward(l, io, 1, n, pos, true);
  const float* last = d.x + (n - 1) * C;  // only the last position needs logits
  norm_forward(d.ln, d.mean, d.rstd, last, kLnfw, kLnfb, 0, 1);
  matmul_forward(d.logits, d.ln, lm_index(), kNoParam, 0, 1, C, V);
  if (cfg_.final_softcap > 0) ops_.softcap_forward(d.logits, nullptr, V, static_cast<float>(cfg_.final_softcap));
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
    p.add(d->atty, P * cfg_.qdim());
    p.add(d->qk_rstd, P * cfg_.qk_groups());
    p.add(d->post, cfg_.post_norm() ? P * C : 0);
    p.add(d->post_rstd, cfg_.post_norm() ? P : 0);
    p.add(d->proj, P * C);
    p.add(d->fch, P * cfg_.fc_rows());
    p.add(d->fch_gelu, P * cfg_.ffn());
    p.add(d->logits, cfg_.V);
    d->arena = p.allocate(ops_);
    decode_ = std::move(d);
  }
  std::vector<int32_t> out;
  std::vector<float> logits(static_cast<size_t>(cfg_.V));
  std::vector<int32_t> seq(prompt);  // the prompt and the tokens chosen so far
  int64_t pos = 0;                   // positions in the KV cache
  const RopeScaling& r = cfg_.rope_scaling;
  while (static_cast<int64_t>(out.size()) < max_new) {
    const int64_t end = static_cast<int64_t>(seq.size());
    // longrope: the cached keys were rotated with the short factors. Hugging Face's Phi-3
    // (Phi3ForCausalLM.prepare_inputs_for_generation) drops its cache the first time the
    // sequence grows past originalMaxPositions and recomputes every position with the long
    // ones; so does this, and each token stays the argmax of a full forward over the sequence.
    if (r.long_context(end) && !r.long_context(pos)) pos = 0;
    decode(seq.data() + pos, end - pos, pos, logits.data());
    pos = end;
    int64_t best = 0;  // first maximum, like argmax
    for (int64_t v = 1; v < cfg_.V; ++v) best = logits[v] > logits[best] ? v : best;
    const int32_t token = static_cast<int32_t>(best);
    if (token == stop_token) break;
    out.push_back(token);
    seq.push_back(token);
  }
  return out;
}

}  // namespace hg
