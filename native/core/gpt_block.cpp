// The transformer block, written once. block_forward is the body that both the training
// forward (gpt.cpp) and decoding with a KV cache (gpt_generate.cpp) run; block_backward is its
// mirror, step by step in reverse. The body is a few building blocks (norm, the q/k/v
// projection, attention, the feed-forward network) whose variants are config switches
// (core/gpt_params.h): a new mechanism is one edit in block_forward and one in block_backward.
#include <cmath>
#include <string>

#include "core/errors.h"
#include "core/gpt.h"
#include "core/gpt_buffers.h"

namespace hg {

// LayerNorm (weight w, bias b) or RMSNorm (weight w only) of inp [N,C] for layer l.
void GPT::norm_forward(float* out, float* mean, float* rstd, const float* inp, ParamIndex w, ParamIndex b,
                       int64_t l, int64_t N) {
  auto s = prof_.scope(OpKind::LayerNorm);
  if (cfg_.norm == NormKind::LayerNorm)
    ops_.layernorm_forward(out, mean, rstd, inp, param(w, l), param(b, l), N, cfg_.C);
  else
    ops_.rmsnorm_forward(out, rstd, inp, param(w, l), N, cfg_.C, static_cast<float>(cfg_.norm_eps), w_offset());
}

// Backward of norm_forward: dinp, dw, db += (dw, db skipped when grad() is null).
void GPT::norm_backward(float* dinp, const float* dout, const float* inp, ParamIndex w, ParamIndex b, int64_t l,
                        const float* mean, const float* rstd, int64_t N) {
  auto s = prof_.scope(OpKind::LayerNorm);
  if (cfg_.norm == NormKind::LayerNorm)
    ops_.layernorm_backward(dinp, grad(w, l), grad(b, l), dout, inp, param(w, l), mean, rstd, N, cfg_.C);
  else
    ops_.rmsnorm_backward(dinp, grad(w, l), dout, inp, param(w, l), rstd, N, cfg_.C, w_offset());
}

// out [N,OC] = inp [N,IC] · w_lᵀ + b_l
void GPT::matmul_forward(float* out, const float* inp, ParamIndex w, ParamIndex b, int64_t l,
                         int64_t N, int64_t IC, int64_t OC) {
  auto s = prof_.gemm_scope(2.0 * N * IC * OC);
  if (bf16_) ops_.bf16w->linear_forward(out, inp, w16(w, l), param(b, l), N, IC, OC);
  else ops_.matmul_forward(out, inp, param(w, l), param(b, l), N, IC, OC);
}

// Forward: out = inp · w_lᵀ + b_l.  dinp = dout·w_l; dw_l += doutᵀ·inp; db_l += Σ dout
// (a bf16 model: dw, db only on its trained blocks of w_l and b_l).
void GPT::matmul_backward(float* dinp, const float* dout, const float* inp, ParamIndex w,
                          ParamIndex b, int64_t l, int64_t N, int64_t IC, int64_t OC) {
  if (!bf16_) {
    auto s = prof_.gemm_scope(4.0 * N * IC * OC);
    ops_.matmul_backward(dinp, grad(w, l), grad(b, l), dout, inp, param(w, l), N, IC, OC);
    return;
  }
  {
    auto s = prof_.gemm_scope(2.0 * N * IC * OC);
    ops_.bf16w->linear_backward_input(dinp, dout, w16(w, l), N, IC, OC);
  }
  if (scores_only_ || !grads_) return;
  for (int k : blocks_of_[w * cfg_.L + l]) {  // dw[r0:, c0:] += dout[:, r0:]ᵀ · inp[:, c0:]
    const TrainBlock& t = blocks_[k];
    auto s = prof_.gemm_scope(2.0 * N * t.nr * t.nc);
    ops_.bf16w->linear_backward_weight(grads_->f32() + t.offset, t.nc, nullptr, dout + t.r0, OC, inp + t.c0, IC, N,
                                       t.nr, t.nc);
  }
  if (b == kNoParam) return;
  for (int k : blocks_of_[b * cfg_.L + l]) {  // a bias slice is [1, OC]: columns c0.. are outputs c0..
    const TrainBlock& t = blocks_[k];
    ops_.bf16w->linear_backward_weight(nullptr, 0, grads_->f32() + t.offset, dout + t.c0, OC, nullptr, 0, N, t.nc, 1);
  }
}

// Layer l's slices of the training activations for N = B·T rows (the same for the forward that
// writes them and the backward that reads them).
GPT::BlockIO GPT::layer_io(int64_t l, const float* res_in, int64_t N) const {
  Acts& a = *acts_;
  const int64_t C = cfg_.C, QKV = cfg_.qkv_rows(), F = cfg_.ffn(), FC = cfg_.fc_rows(), QD = cfg_.qdim();
  const bool qk_norm = cfg_.qk_norm != QkNormKind::None;
  // a scores-only plan: one slice of the linear layers' inputs, shared by every layer (Acts)
  const int64_t li = a.scores_only ? 0 : l, lqkv = a.scores_only && !qk_norm ? 0 : l;
  BlockIO io;
  io.res_in = res_in;
  io.ln1 = a.ln1 + li * N * C;
  io.ln1_mean = a.ln1_mean + l * N;
  io.ln1_rstd = a.ln1_rstd + l * N;
  io.qkv = a.qkv + lqkv * N * QKV;
  io.qkv_att = qk_norm ? a.qkvn : io.qkv;
  io.qk_rstd = a.qk_rstd + l * N * cfg_.qk_groups();
  io.atty = a.atty + li * N * QD;
  io.res2 = a.residual2 + l * N * C;
  io.ln2 = a.ln2 + li * N * C;
  io.ln2_mean = a.ln2_mean + l * N;
  io.ln2_rstd = a.ln2_rstd + l * N;
  io.fch = a.fch + l * N * FC;
  io.fch_act = a.fch_gelu + li * N * F;
  io.res3 = a.residual3 + l * N * C;
  io.proj = a.proj;
  const bool post = cfg_.post_norm();
  io.attn_out = post ? a.attn_out + l * N * C : nullptr;
  io.ffn_out = post ? a.ffn_out + l * N * C : nullptr;
  io.attn_rstd = post ? a.attn_rstd + l * N : nullptr;
  io.ffn_rstd = post ? a.ffn_rstd + l * N : nullptr;
  return io;
}

// The fused kernels' parameters for layer l: causal, scale 1/sqrt(hs) or queryScale^-1/2, the
// layer's sliding window if any, the attention-logit soft-cap if any.
AttnParams GPT::attn_params(int64_t l) const {
  AttnParams p;
  p.window = cfg_.window_of(l);
  if (cfg_.query_scale > 0) p.scale = static_cast<float>(1.0 / std::sqrt(cfg_.query_scale));
  p.softcap = static_cast<float>(cfg_.attn_softcap);
  return p;
}

// Layer l's RoPE tables for a pass over positions [0, end): the local ones on a local layer when
// the config has them; longrope's long ones when the pass reaches past originalMaxPositions (the
// whole pass, as Hugging Face decides by max(position_ids) + 1: in a padded batch, by its length).
GPT::RopeTables GPT::rope_tables_of(int64_t l, int64_t end) const {
  if (cfg_.local_rope() && cfg_.is_local(l)) return {rope_local_cos_->f32(), rope_local_sin_->f32()};
  if (cfg_.rope_scaling.long_context(end)) return {rope_long_cos_->f32(), rope_long_sin_->f32()};
  return {rope_cos_->f32(), rope_sin_->f32()};
}

// The attention core of the training forward: qkv [N,QKV] -> atty [N,QD] (heads merged,
// gated), keeping q, k, v, the ungated output and the log-sum-exp of layer l for the backward.
void GPT::attend_train(int64_t l, const float* qkv, float* atty, int64_t B, int64_t T) {
  Acts& a = *acts_;
  const int64_t N = B * T, H = cfg_.H, KV = cfg_.kv(), hs = cfg_.hs(), KVC = KV * hs, QD = cfg_.qdim();
  float *q = a.q + l * N * QD, *k = a.k + l * N * KVC, *v = a.v + l * N * KVC;
  float* atto = a.atto + l * N * QD;
  {
    auto s = prof_.scope(OpKind::Heads);
    ops_.split_heads(q, k, v, qkv, B, T, H, KV, hs);
  }
  {
    auto s = prof_.scope(OpKind::Attention);
    ops_.attention_forward(q, k, v, atto, a.lse + l * N * H, AttnShape{B, H, T, hs, KV}, attn_params(l));
  }
  auto s = prof_.scope(OpKind::Heads);
  ops_.merge_heads(atty, atto, gates_->f32() + l * H, B, T, H, hs);
}

// The attention core of decoding: the n rows of qkv extend layer l's KV cache and attend over
// positions 0..pos+i.
void GPT::attend_decode(int64_t l, const float* qkv, float* atty, int64_t n, int64_t pos) {
  DecodeState& d = *decode_;
  const int64_t H = cfg_.H, KV = cfg_.kv(), P = d.capacity, hs = cfg_.hs();
  auto s = prof_.scope(OpKind::Attention);
  const AttnParams p = attn_params(l);
  ops_.attention_decode(atty, qkv, d.kcache + l * KV * P * hs, d.vcache + l * KV * P * hs,
                        gates_->f32() + l * H, n, pos, H, KV, P, hs, p.window, p.scale, p.softcap);
}

// One block: io.res_in [N,C] -> io.res3 [N,C], N = B·T rows at positions pos0 + row % T.
// decoding: attention against the KV cache (B = 1, T = N) instead of the fused training kernel.
// Each sublayer: x + post_norm(f(pre_norm(x))), the norms present as cfg_.norm_place says.
void GPT::block_forward(int64_t l, const BlockIO& io, int64_t B, int64_t T, int64_t pos0, bool decoding) {
  const int64_t N = B * T, C = cfg_.C, H = cfg_.H, KV = cfg_.kv(), hs = cfg_.hs();
  const int64_t QKV = cfg_.qkv_rows(), F = cfg_.ffn(), FC = cfg_.fc_rows(), QD = cfg_.qdim();
  const bool pre = cfg_.pre_norm(), post = cfg_.post_norm();
  // attention sublayer
  if (pre) norm_forward(io.ln1, io.ln1_mean, io.ln1_rstd, io.res_in, kLn1w, kLn1b, l, N);
  matmul_forward(io.qkv, pre ? io.ln1 : io.res_in, kQkvw, kQkvb, l, N, C, QKV);
  if (cfg_.qk_norm != QkNormKind::None) {
    auto s = prof_.scope(OpKind::LayerNorm);
    ops_.qk_norm_forward(io.qkv_att, io.qk_rstd, io.qkv, param(kQnw, l), param(kKnw, l), N, H, KV, hs,
                         cfg_.qk_norm == QkNormKind::Head, static_cast<float>(cfg_.norm_eps), w_offset());
  }
  if (cfg_.positions == PosKind::Rope) {
    auto s = prof_.scope(OpKind::Heads);  // q and k heads are the first H + KV blocks of a row
    const RopeTables t = rope_tables_of(l, pos0 + T);
    ops_.rope_forward(io.qkv_att, t.cos, t.sin, N, T, pos0, H + KV, QKV, hs);
  }
  if (decoding) attend_decode(l, io.qkv_att, io.atty, N, pos0);
  else attend_train(l, io.qkv_att, io.atty, B, T);
  matmul_forward(post ? io.attn_out : io.proj, io.atty, kAttprojw, kAttprojb, l, N, QD, C);
  if (post) norm_forward(io.proj, nullptr, io.attn_rstd, io.attn_out, kPostAttnw, kNoParam, l, N);
  {
    auto s = prof_.scope(OpKind::Residual);
    ops_.residual_forward(io.res2, io.res_in, io.proj, N * C);
  }
  // feed-forward sublayer
  if (pre) norm_forward(io.ln2, io.ln2_mean, io.ln2_rstd, io.res2, kLn2w, kLn2b, l, N);
  matmul_forward(io.fch, pre ? io.ln2 : io.res2, kFcw, kFcb, l, N, C, FC);
  {
    auto s = prof_.scope(OpKind::Gelu);
    if (cfg_.mlp == MlpKind::SwiGLU) ops_.swiglu_forward(io.fch_act, io.fch, N, F);
    else if (cfg_.mlp == MlpKind::GeGLU) ops_.geglu_forward(io.fch_act, io.fch, N, F);
    else ops_.gelu_forward(io.fch_act, io.fch, N * F);
  }
  matmul_forward(post ? io.ffn_out : io.proj, io.fch_act, kFcprojw, kFcprojb, l, N, F, C);
  if (post) norm_forward(io.proj, nullptr, io.ffn_rstd, io.ffn_out, kPostFfnw, kNoParam, l, N);
  auto s = prof_.scope(OpKind::Residual);
  ops_.residual_forward(io.res3, io.res2, io.proj, N * C);
}

// Backward of block_forward (training). On entry a.dresidual holds dL/d res3; on exit it holds
// dL/d res_in. head_scores: the layer's [B,H] slice.
void GPT::block_backward(int64_t l, const BlockIO& io, int64_t B, int64_t T, float* head_scores) {
  Acts& a = *acts_;
  const int64_t N = B * T, C = cfg_.C, H = cfg_.H, KV = cfg_.kv(), hs = cfg_.hs();
  const int64_t QKV = cfg_.qkv_rows(), KVC = KV * hs, F = cfg_.ffn(), FC = cfg_.fc_rows(), QD = cfg_.qdim();
  const float *q = a.q + l * N * QD, *k = a.k + l * N * KVC, *v = a.v + l * N * KVC;
  const float* atto = a.atto + l * N * QD;
  const bool gated = cfg_.gated(), pre = cfg_.pre_norm(), post = cfg_.post_norm();
  float* dact = gated ? a.dact : a.dfch;  // GELU's backward runs in place
  // A post norm's backward: the gradient into its input, in a.dpost (norm_backward adds).
  auto post_norm_backward = [&](const float* inp, ParamIndex w, const float* rstd) {
    ops_.zero(a.dpost, N * C * 4);
    norm_backward(a.dpost, a.dresidual, inp, w, kNoParam, l, nullptr, rstd, N);
    return a.dpost;
  };
  // The input of a sublayer without a pre norm is the residual stream itself: its gradient adds
  // into dresidual.
  auto input_backward = [&](const float* res, ParamIndex w, ParamIndex b, const float* mean, const float* rstd) {
    if (pre) {
      norm_backward(a.dresidual, a.dln, res, w, b, l, mean, rstd, N);
    } else {
      auto s = prof_.scope(OpKind::Residual);
      ops_.residual_forward(a.dresidual, a.dresidual, a.dln, N * C);
    }
  };

  // feed-forward sublayer; res3 = res2 + proj: dresidual flows to both.
  const float* dffn = post ? post_norm_backward(io.ffn_out, kPostFfnw, io.ffn_rstd) : a.dresidual;
  matmul_backward(dact, dffn, io.fch_act, kFcprojw, kFcprojb, l, N, F, C);
  {
    auto s = prof_.scope(OpKind::Gelu);
    if (cfg_.mlp == MlpKind::SwiGLU) ops_.swiglu_backward(a.dfch, io.fch, dact, N, F);
    else if (cfg_.mlp == MlpKind::GeGLU) ops_.geglu_backward(a.dfch, io.fch, dact, N, F);
    else ops_.gelu_backward(a.dfch, io.fch, a.dfch, N * F);
  }
  matmul_backward(a.dln, a.dfch, pre ? io.ln2 : io.res2, kFcw, kFcb, l, N, C, FC);
  input_backward(io.res2, kLn2w, kLn2b, io.ln2_mean, io.ln2_rstd);
  // attention sublayer; res2 = res_in + proj.
  const float* dattn = post ? post_norm_backward(io.attn_out, kPostAttnw, io.attn_rstd) : a.dresidual;
  matmul_backward(a.datty, dattn, io.atty, kAttprojw, kAttprojb, l, N, QD, C);
  {
    // merge_heads applied the gates; the head gradient is taken ungated on purpose
    auto s = prof_.scope(OpKind::Heads);
    ops_.merge_heads_backward(a.dao, a.datty, B, T, H, hs);
  }
  // ξ_h scales head h's dq, dk, dv. With one k/v head per query head it is applied in
  // split_heads_backward; under grouped-query attention a k/v head's gradient sums query heads
  // with different gates, so the attention backward applies them (AttnParams::gains).
  const float* gates = gates_->f32() + l * H;
  const bool gqa = KV != H;
  {
    // Fed the ungated gradient, its head score Σ dy∘atto is exactly ∂L/∂ξ_h (ξ_h may be 0).
    auto s = prof_.scope(OpKind::Attention);
    AttnParams p = attn_params(l);
    p.gains = gqa ? gates : nullptr;
    ops_.attention_backward(a.dao, q, k, v, atto, a.lse + l * N * H, a.dq, a.dk, a.dv, head_scores,
                            AttnShape{B, H, T, hs, KV}, p);
  }
  {
    auto s = prof_.scope(OpKind::Heads);
    ops_.split_heads_backward(a.dqkv, a.dq, a.dk, a.dv, gqa ? nullptr : gates, B, T, H, KV, hs);
  }
  if (cfg_.positions == PosKind::Rope) {
    auto s = prof_.scope(OpKind::Heads);
    const RopeTables t = rope_tables_of(l, T);  // the forward's: rope_forward(qkv, ..., pos0 = 0)
    ops_.rope_backward(a.dqkv, t.cos, t.sin, N, T, 0, H + KV, QKV, hs);
  }
  if (cfg_.qk_norm != QkNormKind::None) {
    auto s = prof_.scope(OpKind::LayerNorm);
    ops_.qk_norm_backward(a.dqkv, grad(kQnw, l), grad(kKnw, l), a.dqkv, io.qkv, param(kQnw, l), param(kKnw, l),
                          io.qk_rstd, N, H, KV, hs, cfg_.qk_norm == QkNormKind::Head, w_offset());
  }
  matmul_backward(a.dln, a.dqkv, pre ? io.ln1 : io.res_in, kQkvw, kQkvb, l, N, C, QKV);
  input_backward(io.res_in, kLn1w, kLn1b, io.ln1_mean, io.ln1_rstd);
}

}  // namespace hg
