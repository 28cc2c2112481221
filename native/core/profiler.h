// Optional per-op timers for the GPT engine. Off unless HEADGRAD_PROFILE=1 when the model is
// created; when off a scope costs one branch and never reads the clock.
#pragma once
#include <array>
#include <chrono>
#include <cstdint>

namespace hg {

enum class OpKind { Gemm, Attention, LayerNorm, Gelu, Loss, Embedding, Heads, Residual, Optimizer, Count };

constexpr std::array<const char*, static_cast<size_t>(OpKind::Count)> kOpKindNames = {
    "gemm", "attention", "layernorm", "gelu", "loss", "embedding", "heads", "residual", "optimizer"};

class Profiler {
 public:
  explicit Profiler(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  double ms(OpKind k) const { return ms_[static_cast<size_t>(k)]; }
  double gemm_flops() const { return gemm_flops_; }
  void reset() {
    ms_.fill(0.0);
    gemm_flops_ = 0.0;
  }

  // Times its own lifetime into one category (CPU kernels are synchronous; a GPU backend
  // would synchronise in its ops before this is meaningful).
  class Scope {
   public:
    Scope(Profiler& p, OpKind k) : p_(p.enabled_ ? &p : nullptr), k_(k) {
      if (p_) t0_ = std::chrono::steady_clock::now();
    }
    ~Scope() {
      if (p_) {
        const std::chrono::duration<double, std::milli> d = std::chrono::steady_clock::now() - t0_;
        p_->ms_[static_cast<size_t>(k_)] += d.count();
      }
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Profiler* p_;
    OpKind k_;
    std::chrono::steady_clock::time_point t0_;
  };

  Scope scope(OpKind k) { return Scope(*this, k); }
  // A gemm scope that also counts its floating-point operations.
  Scope gemm_scope(double flops) {
    if (enabled_) gemm_flops_ += flops;
    return Scope(*this, OpKind::Gemm);
  }

 private:
  bool enabled_;
  std::array<double, static_cast<size_t>(OpKind::Count)> ms_{};
  double gemm_flops_ = 0.0;
};

}  // namespace hg
