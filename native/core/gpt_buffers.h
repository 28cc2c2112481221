// Memory owned by a GPT engine (internal to gpt*.cpp): backend buffers, the activation plan
// for N = B·T rows, and the KV-cache state used by generate.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/gpt.h"
#include "core/ops.h"

namespace hg {

// One backend allocation, zeroed, released with the owner.
class DeviceBuffer {
 public:
  DeviceBuffer(const Ops& ops, int64_t bytes) : ops_(ops), p_(ops.alloc(bytes)), bytes_(bytes) {}
  ~DeviceBuffer() { ops_.release(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* f32() const { return static_cast<float*>(p_); }
  int64_t bytes() const { return bytes_; }

 private:
  const Ops& ops_;
  void* p_;
  int64_t bytes_;
};

// Carves one arena into named buffers: add() every buffer, then allocate() once.
class ArenaPlanner {
 public:
  template <class T>
  void add(T*& slot, int64_t count) {
    const int64_t off = total_;
    total_ += (count * static_cast<int64_t>(sizeof(T)) + 63) / 64 * 64;  // keep 64-byte alignment
    assign_.push_back([&slot, off](char* base) { slot = reinterpret_cast<T*>(base + off); });
  }
  int64_t total() const { return total_; }
  std::unique_ptr<DeviceBuffer> allocate(const Ops& ops) {
    auto buf = std::make_unique<DeviceBuffer>(ops, total_);
    for (auto& a : assign_) a(reinterpret_cast<char*>(buf->f32()));
    return buf;
  }

 private:
  int64_t total_ = 0;
  std::vector<std::function<void(char*)>> assign_;
};

// Activations of one forward (kept for the backward) and the backward's scratch. Per-layer
// buffers hold L slices; slice l of a buffer with row width w starts at l·N·w for the N of
// the current call (<= the planned N). A scores-only plan holds one slice, which every layer
// reuses, of the linear layers' inputs (ln1, qkv unless a Q/K norm's backward reads it, atty,
// ln2, fch_gelu: only weight gradients read them), and logits for a chunk of rows. Widths: QKV = (H + 2·KV)·hs, KVC = KV·hs, F = ffn
// hidden size, FC = F (gelu) or 2F (swiglu, geglu: gate and up), QD = H·hs, G = Q/K norm groups.
struct GPT::Acts {
  int64_t N = 0;  // rows planned for
  bool scores_only = false;
  int64_t logit_rows = 0;  // rows of `logits`: N, or a chunk (scores-only)
  std::unique_ptr<DeviceBuffer> arena;
  int32_t *tokens, *targets;                  // [N]
  float *weights, *losses;                    // [N]
  float* encoded;                             // [N,C]
  float *ln1, *ln1_mean, *ln1_rstd;           // [L,N,C], [L,N], [L,N] (mean unused by RMSNorm)
  float* qkv;                                 // [L,N,QKV] (RoPE applied; the projection's raw output under qk norm)
  float* qkvn;                                // [N,QKV] q/k normalised, RoPE applied (qk norm only)
  float* qk_rstd;                             // [L,N,G] (qk norm only)
  float *q, *atto;                            // [L,B,H,T,hs] (atto: attention output, ungated)
  float *k, *v;                               // [L,B,KV,T,hs]
  float* lse;                                 // [L,B,H,T]
  float* atty;                                // [L,N,QD] heads merged, gated
  float *attn_out, *ffn_out;                  // [L,N,C] sublayer outputs before their post norm (post norms only)
  float *attn_rstd, *ffn_rstd;                // [L,N]
  float* residual2;                           // [L,N,C]
  float *ln2, *ln2_mean, *ln2_rstd;           // [L,N,C], [L,N], [L,N]
  float* fch;                                 // [L,N,FC] MLP pre-activation
  float* fch_gelu;                            // [L,N,F] MLP activation (GELU or SwiGLU)
  float* residual3;                           // [L,N,C]
  float *lnf, *lnf_mean, *lnf_rstd;           // [N,C], [N], [N]
  float* logits;                              // [logit_rows,V]: logits, then probs, then dlogits
  float* softcap_d;                           // [logit_rows,V] 1 − tanh² of the final soft-cap (finalSoftcap only)
  float* proj;                                // [N,C] projection output before a residual add
  // backward scratch (one layer at a time)
  float *dresidual, *dln;                     // [N,C] (after a scores-only forward, dln holds dL/dlnf)
  float *datty, *dao;                         // [N,QD]
  float* dpost;                               // [N,C] gradient into a post norm's input (post norms only)
  float* dq;                                  // [B,H,T,hs]
  float *dk, *dv;                             // [B,KV,T,hs]
  float* dqkv;                                // [N,QKV]
  float* dfch;                                // [N,FC]
  float* dact;                                // [N,F] (swiglu, geglu: their dout and dinp differ in width)
  float* head_scores;                         // [L,B,H] (B <= N)
};

// Where one pass of the block (gpt_block.cpp) reads and writes, N rows: layer l's activation
// slices in training (layer_io), the decode scratch when generating (the residual stream is then
// updated in place: res_in = res2 = res3, and both norms share one buffer).
struct GPT::BlockIO {
  const float* res_in;                 // [N,C]
  float *ln1, *ln1_mean, *ln1_rstd;    // [N,C], [N], [N]
  float* qkv;                          // [N,QKV] the q/k/v projection
  float* qkv_att;                      // [N,QKV] what attention reads: qkv after the Q/K norm and RoPE
  float* qk_rstd;                      // [N,G]
  float* atty;                         // [N,QD] heads merged, gated
  float* res2;                         // [N,C]
  float *ln2, *ln2_mean, *ln2_rstd;    // [N,C], [N], [N]
  float *fch, *fch_act;                // [N,FC], [N,F]
  float* res3;                         // [N,C]
  float* proj;                         // [N,C] scratch: a projection before its residual add
  float *attn_out, *ffn_out;           // [N,C] sublayer outputs before their post norm
  float *attn_rstd, *ffn_rstd;         // [N]
};

// Generation state: the KV cache for one sequence and per-call scratch, for up to P = capacity
// positions (<= maxSeqLen; generate() grows it when a call needs more).
struct GPT::DecodeState {
  int64_t capacity = 0;
  std::unique_ptr<DeviceBuffer> arena;
  int32_t* tokens;                   // [P]
  float *kcache, *vcache;            // [L,KV,P,hs]
  float *x, *ln, *mean, *rstd;       // [P,C], [P,C], [P], [P]
  float *qkv, *atty, *proj;          // [P,QKV], [P,QD], [P,C]
  float* qk_rstd;                    // [P,G]
  float *post, *post_rstd;           // [P,C], [P] (post norms only)
  float *fch, *fch_gelu;             // [P,FC], [P,F]
  float* logits;                     // [V] (the last position only)
};

}  // namespace hg
