// The transformer block, written once. block_forward is the body that both the training
// forward (gpt.cpp) and decoding with a KV cache (gpt_generate.cpp) run; block_backward is its
// mirror, step by step in reverse. The body is a few building blocks (norm, the q/k/v
// projection, attention, the feed-forward network) whose variants are config switches
// (core/gpt_params.h): a new mechanism is one edit in block_forward and one in block_backward.
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
    ops_.rmsnorm_forward(out, rstd, inp, param(w, l), N, cfg_.C, static_cast<float>(cfg_.norm_eps));
}

// Backward of norm_forward: dinp, dw, db += (dw, db skipped when grad() is null).
void GPT::norm_backward(float* dinp, const float* dout, const float* inp, ParamIndex w, ParamIndex b, int64_t l,
                        const float* mean, const float* rstd, int64_t N) {
  auto s = prof_.scope(OpKind::LayerNorm);
  if (cfg_.norm == NormKind::LayerNorm)
    ops_.layernorm_backward(dinp, grad(w, l), grad(b, l), dout, inp, param(w, l), mean, rstd, N, cfg_.C);
  else
    ops_.rmsnorm_backward(dinp, grad(w, l), dout, inp, param(w, l), rstd, N, cfg_.C);
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
  const int64_t C = cfg_.C, QKV = cfg_.qkv_rows(), F = cfg_.ffn(), FC = cfg_.fc_rows();
  BlockIO io;
  io.res_in = res_in;
  io.ln1 = a.ln1 + l * N * C;
  io.ln1_mean = a.ln1_mean + l * N;
  io.ln1_rstd = a.ln1_rstd + l * N;
  io.qkv = a.qkv + l * N * QKV;
  io.atty = a.atty + l * N * C;
  io.res2 = a.residual2 + l * N * C;
  io.ln2 = a.ln2 + l * N * C;
  io.ln2_mean = a.ln2_mean + l * N;
  io.ln2_rstd = a.ln2_rstd + l * N;
  io.fch = a.fch + l * N * FC;
  io.fch_act = a.fch_gelu + l * N * F;
  io.res3 = a.residual3 + l * N * C;
  io.proj = a.proj;
  return io;
}

// The attention core of the training forward: qkv [N,QKV] -> atty [N,C] (heads merged,
// gated), keeping q, k, v, the ungated output and the log-sum-exp of layer l for the backward.
void GPT::attend_train(int64_t l, const float* qkv, float* atty, int64_t B, int64_t T) {
  Acts& a = *acts_;
  const int64_t N = B * T, C = cfg_.C, H = cfg_.H, KV = cfg_.kv(), hs = cfg_.hs(), KVC = KV * hs;
  float *q = a.q + l * N * C, *k = a.k + l * N * KVC, *v = a.v + l * N * KVC;
  float* atto = a.atto + l * N * C;
  {
    auto s = prof_.scope(OpKind::Heads);
    ops_.split_heads(q, k, v, qkv, B, T, H, KV, hs);
  }
  {
    auto s = prof_.scope(OpKind::Attention);
    ops_.attention_forward(q, k, v, atto, a.lse + l * N * H, AttnShape{B, H, T, hs, KV}, AttnParams{});
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
  ops_.attention_decode(atty, qkv, d.kcache + l * KV * P * hs, d.vcache + l * KV * P * hs,
                        gates_->f32() + l * H, n, pos, H, KV, P, hs);
}

// One pre-norm block: io.res_in [N,C] -> io.res3 [N,C], N = B·T rows at positions
// pos0 + row % T. decoding: attention against the KV cache (B = 1, T = N) instead of the fused
// training kernel.
void GPT::block_forward(int64_t l, const BlockIO& io, int64_t B, int64_t T, int64_t pos0, bool decoding) {
  const int64_t N = B * T, C = cfg_.C, H = cfg_.H, KV = cfg_.kv(), hs = cfg_.hs();
  const int64_t QKV = cfg_.qkv_rows(), F = cfg_.ffn(), FC = cfg_.fc_rows();
  // attention sublayer
  norm_forward(io.ln1, io.ln1_mean, io.ln1_rstd, io.res_in, kLn1w, kLn1b, l, N);
  matmul_forward(io.qkv, io.ln1, kQkvw, kQkvb, l, N, C, QKV);
  if (cfg_.positions == PosKind::Rope) {
    auto s = prof_.scope(OpKind::Heads);  // q and k heads are the first H + KV blocks of a row
    ops_.rope_forward(io.qkv, rope_cos_->f32(), rope_sin_->f32(), N, T, pos0, H + KV, QKV, hs);
  }
  if (decoding) attend_decode(l, io.qkv, io.atty, N, pos0);
  else attend_train(l, io.qkv, io.atty, B, T);
  matmul_forward(io.proj, io.atty, kAttprojw, kAttprojb, l, N, C, C);
  {
    auto s = prof_.scope(OpKind::Residual);
    ops_.residual_forward(io.res2, io.res_in, io.proj, N * C);
  }
  // feed-forward sublayer
  norm_forward(io.ln2, io.ln2_mean, io.ln2_rstd, io.res2, kLn2w, kLn2b, l, N);
  matmul_forward(io.fch, io.ln2, kFcw, kFcb, l, N, C, FC);
  {
    auto s = prof_.scope(OpKind::Gelu);
    if (cfg_.mlp == MlpKind::SwiGLU) ops_.swiglu_forward(io.fch_act, io.fch, N, F);
    else ops_.gelu_forward(io.fch_act, io.fch, N * F);
  }
  matmul_forward(io.proj, io.fch_act, kFcprojw, kFcprojb, l, N, F, C);
  auto s = prof_.scope(OpKind::Residual);
  ops_.residual_forward(io.res3, io.res2, io.proj, N * C);
}

// Backward of block_forward (training). On entry a.dresidual holds dL/d res3; on exit it holds
// dL/d res_in. head_scores: the layer's [B,H] slice.
void GPT::block_backward(int64_t l, const BlockIO& io, int64_t B, int64_t T, float* head_scores) {
  Acts& a = *acts_;
  const int64_t N = B * T, C = cfg_.C, H = cfg_.H, KV = cfg_.kv(), hs = cfg_.hs();
  const int64_t QKV = cfg_.qkv_rows(), KVC = KV * hs, F = cfg_.ffn(), FC = cfg_.fc_rows();
  const float *q = a.q + l * N * C, *k = a.k + l * N * KVC, *v = a.v + l * N * KVC;
  const float* atto = a.atto + l * N * C;
  const bool swiglu = cfg_.mlp == MlpKind::SwiGLU;
  float* dact = swiglu ? a.dact : a.dfch;  // GELU's backward runs in place

  // feed-forward sublayer; res3 = res2 + proj: dresidual flows to both.
  matmul_backward(dact, a.dresidual, io.fch_act, kFcprojw, kFcprojb, l, N, F, C);
  {
    auto s = prof_.scope(OpKind::Gelu);
    if (swiglu) ops_.swiglu_backward(a.dfch, io.fch, dact, N, F);
    else ops_.gelu_backward(a.dfch, io.fch, a.dfch, N * F);
  }
  matmul_backward(a.dln, a.dfch, io.ln2, kFcw, kFcb, l, N, C, FC);
  norm_backward(a.dresidual, a.dln, io.res2, kLn2w, kLn2b, l, io.ln2_mean, io.ln2_rstd, N);  // adds into dresidual
  // attention sublayer; res2 = res_in + proj.
  matmul_backward(a.datty, a.dresidual, io.atty, kAttprojw, kAttprojb, l, N, C, C);
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
    AttnParams p;
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
    ops_.rope_backward(a.dqkv, rope_cos_->f32(), rope_sin_->f32(), N, T, 0, H + KV, QKV, hs);
  }
  matmul_backward(a.dln, a.dqkv, io.ln1, kQkvw, kQkvb, l, N, C, QKV);
  norm_backward(a.dresidual, a.dln, io.res_in, kLn1w, kLn1b, l, io.ln1_mean, io.ln1_rstd, N);  // adds into dresidual
}

}  // namespace hg
