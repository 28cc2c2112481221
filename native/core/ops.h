// The one interface between the GPT engine and a backend (cpu/ now, cuda/ later): memory and
// the kernel entry points the engine needs. The engine only ever holds backend pointers and
// calls these; it never touches float data itself, so a CUDA table drops in unchanged.
//
// Every pointer below is a backend pointer (host memory on the CPU, device memory on CUDA),
// except where a parameter says "host". Shapes are given per entry; N = rows = B·T.
// Gradient kernels marked "+=" accumulate into their output; the others overwrite.
#pragma once
#include <cstdint>

#include "core/attention.h"

namespace hg {

// A contiguous run of parameters that one optimizer step updates (see gpt_step.cpp).
struct ParamSpan {
  int64_t offset = 0, size = 0;
  bool decay = false;  // weight decay applies to this run
};

struct AdamWParams {
  float lr, beta1, beta2, eps, weight_decay;
  float grad_scale;  // multiplies every gradient first (global-norm clipping)
  int64_t t;         // step number, >= 1, for the bias corrections
};

// Kernels of a model whose 2-D weights live only as bf16 bits (uint16_t, row-major [OC, IC] in
// the canonical layout's order; docs/memory.md). The f32 inputs are rounded to bf16 on the way
// in, products accumulate in f32. A backend without them leaves Ops::bf16w null and keeps f32
// weights (CUDA today).
struct Bf16WeightOps {
  // out [N,OC] = inp [N,IC] · wᵀ + bias [OC] (bias may be null)
  void (*linear_forward)(float* out, const float* inp, const uint16_t* w, const float* bias, int64_t N,
                         int64_t IC, int64_t OC);
  // dinp [N,IC] = dout [N,OC] · w (overwrite)
  void (*linear_backward_input)(float* dinp, const float* dout, const uint16_t* w, int64_t N, int64_t IC,
                                int64_t OC);
  // The weight gradient of one block of a linear layer (a trained slice, f32 activations):
  // dw [rows,cols] (row stride ldw) += doutᵀ·inp, dout [N,rows] (row stride ldo), inp [N,cols]
  // (row stride ldi); dbias [rows] += Σ_n dout (either may be null).
  void (*linear_backward_weight)(float* dw, int64_t ldw, float* dbias, const float* dout, int64_t ldo,
                                 const float* inp, int64_t ldi, int64_t N, int64_t rows, int64_t cols);
  // out [B,T,C] = wte[tokens] + wpe[t] (wpe may be null), wte [V,C], wpe [P,C] bf16
  void (*encoder_forward)(float* out, const int32_t* tokens, const uint16_t* wte, const uint16_t* wpe,
                          int64_t B, int64_t T, int64_t C);
  // Blocks [rows, cols] with row strides: dst = bf16(src) / dst = f32(src) (exact) / dst = src
  void (*round_block)(uint16_t* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols);
  void (*widen_block)(float* dst, int64_t ldd, const uint16_t* src, int64_t lds, int64_t rows, int64_t cols);
  void (*copy_block)(float* dst, int64_t ldd, const float* src, int64_t lds, int64_t rows, int64_t cols);
};

struct Ops {
  const char* name;

  // ---- memory (bytes; alloc returns zeroed memory, throws on failure) ----
  void* (*alloc)(int64_t bytes);
  void (*release)(void* p);
  void (*upload)(void* dst, const void* host_src, int64_t bytes);
  void (*download)(void* host_dst, const void* src, int64_t bytes);
  void (*zero)(void* p, int64_t bytes);

  // ---- embeddings: tokens [N] (positions t = row % T), wte [V,C], wpe [P,C] or null (no
  // learned positions), out [N,C] ----
  void (*encoder_forward)(float* out, const int32_t* tokens, const float* wte, const float* wpe,
                          int64_t B, int64_t T, int64_t C);
  // dwte, dwpe += (dwpe null when wpe was)
  void (*encoder_backward)(float* dwte, float* dwpe, const float* dout, const int32_t* tokens,
                           int64_t B, int64_t T, int64_t C);

  // ---- layernorm: inp/out [N,C], w/b [C], mean/rstd [N] ----
  void (*layernorm_forward)(float* out, float* mean, float* rstd, const float* inp, const float* w,
                            const float* b, int64_t N, int64_t C);
  // dinp, dw, db += (dw, db null: skipped, as in a scores-only backward)
  void (*layernorm_backward)(float* dinp, float* dw, float* db, const float* dout, const float* inp,
                             const float* w, const float* mean, const float* rstd, int64_t N,
                             int64_t C);

  // ---- RMSNorm: inp/out [N,C], w [C], rstd [N]: out = x̂·(w_offset + w) (w_offset 0, or
  // Gemma's 1). Optional: null on a backend without it ----
  void (*rmsnorm_forward)(float* out, float* rstd, const float* inp, const float* w, int64_t N, int64_t C,
                          float eps, float w_offset);
  // dinp, dw +=
  void (*rmsnorm_backward)(float* dinp, float* dw, const float* dout, const float* inp, const float* w,
                           const float* rstd, int64_t N, int64_t C, float w_offset);

  // ---- linear layer: inp [N,IC], w [OC,IC], bias [OC] or null, out [N,OC]: out = inp·wᵀ + bias ----
  void (*matmul_forward)(float* out, const float* inp, const float* w, const float* bias, int64_t N,
                         int64_t IC, int64_t OC);
  // dinp = dout·w (overwrite); dw += doutᵀ·inp; dbias += Σ_rows dout (dw, dbias may be null:
  // skipped; inp is read only for dw)
  void (*matmul_backward)(float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                          const float* w, int64_t N, int64_t IC, int64_t OC);

  // ---- heads: qkv [B,T,QKV] <-> q [B,H,T,hs], k,v [B,KV,T,hs]; QKV = (H + 2·KV)·hs, rows
  // [q heads; k heads; v heads]; head outputs [B,H,T,hs] <-> y [B,T,C] ----
  void (*split_heads)(float* q, float* k, float* v, const float* qkv, int64_t B, int64_t T,
                      int64_t H, int64_t KV, int64_t hs);
  // dqkv = gate_h · (dq,dk,dv) merged back (overwrite); gates [H], or null (no scaling: with
  // KV < H the attention backward applies the gates, see core/attention.h)
  void (*split_heads_backward)(float* dqkv, const float* dq, const float* dk, const float* dv,
                               const float* gates, int64_t B, int64_t T, int64_t H, int64_t KV,
                               int64_t hs);
  // y[b,t,h·hs+d] = gate_h · o[b,h,t,d]
  void (*merge_heads)(float* y, const float* o, const float* gates, int64_t B, int64_t T, int64_t H,
                      int64_t hs);
  // do[b,h,t,d] = dy[b,t,h·hs+d]   (no gate: the caller scales the attention gradients instead)
  void (*merge_heads_backward)(float* dout_heads, const float* dy, int64_t B, int64_t T, int64_t H,
                               int64_t hs);

  // ---- rotary positions (cpu/rope.h contract), in place on the q and k heads of qkv rows:
  // x [N, stride], the first `heads` blocks of hs columns, position pos0 + row % T, cos/sin
  // [P, hs/2]. Optional: null on a backend without it ----
  void (*rope_forward)(float* x, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0,
                       int64_t heads, int64_t stride, int64_t hs);
  void (*rope_backward)(float* dx, const float* cos, const float* sin, int64_t N, int64_t T, int64_t pos0,
                        int64_t heads, int64_t stride, int64_t hs);

  // ---- fused attention (core/attention.h contract) ----
  void (*attention_forward)(const float* q, const float* k, const float* v, float* out, float* lse,
                            const AttnShape& s, const AttnParams& p);
  void (*attention_backward)(const float* dout, const float* q, const float* k, const float* v,
                             const float* out, const float* lse, float* dq, float* dk, float* dv,
                             float* head_score, const AttnShape& s, const AttnParams& p);
  // Decoding with a KV cache. qkv [n,QKV] holds n new tokens at positions pos..pos+n-1; their
  // k/v rows are appended to kcache/vcache [KV,P,hs], then each query of head h attends
  // causally over positions 0..pos+i of k/v head h/(H/KV) (window > 0: pos+i−window+1..pos+i
  // only). out [n,H·hs] (token-major, head h in columns h·hs..) is multiplied by gates [H].
  // Scores scale·q·k (scale 0: 1/sqrt(hs)), soft-capped to softcap·tanh(s/softcap) when
  // softcap > 0, as in AttnParams.
  void (*attention_decode)(float* out, const float* qkv, float* kcache, float* vcache,
                           const float* gates, int64_t n, int64_t pos, int64_t H, int64_t KV,
                           int64_t P, int64_t hs, int64_t window, float scale, float softcap);

  // ---- pointwise ----
  void (*residual_forward)(float* out, const float* a, const float* b, int64_t n);  // out = a + b
  void (*gelu_forward)(float* out, const float* inp, int64_t n);
  void (*gelu_backward)(float* dinp, const float* inp, const float* dout, int64_t n);  // overwrite
  // SwiGLU: out [N,F] = silu(inp[:, :F]) ∘ inp[:, F:], inp [N,2F]. Optional (null) like rmsnorm.
  void (*swiglu_forward)(float* out, const float* inp, int64_t N, int64_t F);
  void (*swiglu_backward)(float* dinp, const float* inp, const float* dout, int64_t N, int64_t F);  // overwrite

  // ---- loss: logits [N,V] are turned into probabilities in place; targets [N] (-1 = none),
  // weights [N]; losses [N] = -log p[target] (0 where target < 0) ----
  void (*softmax_crossentropy_forward)(float* probs_inout, float* losses, const int32_t* targets,
                                       int64_t N, int64_t V);
  // probs [N,V] -> dlogits in place: w_t · (p − onehot(target_t))
  void (*softmax_crossentropy_backward)(float* probs_inout, const int32_t* targets,
                                        const float* weights, int64_t N, int64_t V);

  // ---- optimizer over spans (host array) of params/grads/m/v ----
  // Σ g² over the spans, accumulated in double in a fixed order (deterministic).
  double (*sum_squares)(const float* grads, const ParamSpan* spans, int64_t nspans);
  void (*adamw)(float* params, const float* grads, float* m, float* v, const ParamSpan* spans,
                int64_t nspans, const AdamWParams& hp);

  // ---- Q/K RMSNorm on qkv rows [N,QKV] before RoPE (cpu/qk_norm.h contract): the q heads and
  // the k heads normalised per head (per_head; wq, wk [hs]) or each block whole (wq [H·hs],
  // wk [KV·hs]); the v block copied; rstd [N, groups]. out may equal inp. Optional (null) ----
  void (*qk_norm_forward)(float* out, float* rstd, const float* inp, const float* wq, const float* wk, int64_t N,
                          int64_t H, int64_t KV, int64_t hs, bool per_head, float eps, float w_offset);
  // dinp overwrite (may equal dout); dwq, dwk += (null: skipped)
  void (*qk_norm_backward)(float* dinp, float* dwq, float* dwk, const float* dout, const float* inp,
                           const float* wq, const float* wk, const float* rstd, int64_t N, int64_t H, int64_t KV,
                           int64_t hs, bool per_head, float w_offset);
  // ---- Gemma's pointwise ops. Optional (null): the engine refuses the switches that need them ----
  // GeGLU: out [N,F] = gelu_tanh(inp[:, :F]) ∘ inp[:, F:], inp [N,2F]; backward overwrites dinp
  void (*geglu_forward)(float* out, const float* inp, int64_t N, int64_t F);
  void (*geglu_backward)(float* dinp, const float* inp, const float* dout, int64_t N, int64_t F);
  // x [n] *= s (the embedding scale, forward and backward)
  void (*scale)(float* x, float s, int64_t n);
  // x [n] <- cap·tanh(x/cap) in place; dtanh [n] <- 1 − tanh² (null: not kept)
  void (*softcap_forward)(float* x, float* dtanh, int64_t n, float cap);
  // dx [n] *= dtanh (the backward of softcap_forward)
  void (*softcap_backward)(float* dx, const float* dtanh, int64_t n);
  // Optional (last, so that a table written without it leaves it null): bf16-resident weights.
  const Bf16WeightOps* bf16w;
};

// The CPU table (native/cpu/ops_cpu.cpp); the bf16 one keeps a model's matrices only as bf16
// (bf16w) and runs the linear layers in bf16 (needs cpu::bf16_support().available).
const Ops& cpu_ops();
const Ops& cpu_ops_bf16();

}  // namespace hg
