// The CPU backend's ops table (core/ops.h): host memory and the kernels in this folder.
#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>

#include "core/ops.h"
#include "cpu/adamw.h"
#include "cpu/attention.h"
#include "cpu/attention_decode.h"
#include "cpu/bf16_weights.h"
#include "cpu/crossentropy.h"
#include "cpu/encoder.h"
#include "cpu/geglu.h"
#include "cpu/gelu.h"
#include "cpu/heads.h"
#include "cpu/layernorm.h"
#include "cpu/linear_bf16.h"
#include "cpu/matmul.h"
#include "cpu/qk_norm.h"
#include "cpu/residual.h"
#include "cpu/rmsnorm.h"
#include "cpu/rope.h"
#include "cpu/softcap.h"
#include "cpu/swiglu.h"

namespace hg {
namespace {

// 64-byte aligned so vector loads never straddle cache lines needlessly. The 64 bytes before
// each block hold how it was made: 0 for the heap, else the length of its mapping.
constexpr size_t kHeader = 64;
constexpr size_t kPage = 4096;
// Blocks this large (weights, activation arenas) are mapped directly: the kernel hands out
// zero pages on first touch, so a model whose parameters are all imported next (a load) is
// written once, not zeroed first (a 1B f32 model: 5 GB of memset saved).
constexpr size_t kMapFrom = size_t{16} << 20;

void* host_alloc(int64_t bytes) {
  const size_t n = (static_cast<size_t>(bytes) + 63) / 64 * 64;
  char* p;
  if (n >= kMapFrom) {
    const size_t len = n + kPage;
    void* base = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    p = static_cast<char*>(base) + kPage;
    std::memcpy(p - kHeader, &len, sizeof len);
  } else {
    void* base = std::aligned_alloc(64, n + kHeader);
    if (!base) throw std::bad_alloc();
    p = static_cast<char*>(base) + kHeader;
    std::memset(p, 0, n);
    const size_t heap = 0;
    std::memcpy(p - kHeader, &heap, sizeof heap);
  }
  return p;
}
void host_release(void* ptr) {
  if (!ptr) return;
  char* p = static_cast<char*>(ptr);
  size_t len;
  std::memcpy(&len, p - kHeader, sizeof len);
  if (len)
    munmap(p - kPage, len);
  else
    std::free(p - kHeader);
}
void host_copy(void* dst, const void* src, int64_t bytes) { std::memcpy(dst, src, static_cast<size_t>(bytes)); }
void host_zero(void* p, int64_t bytes) { std::memset(p, 0, static_cast<size_t>(bytes)); }

}  // namespace

namespace {
Ops make_cpu_ops() {
  return Ops{
      "cpu",
      host_alloc,
      host_release,
      host_copy,
      host_copy,
      host_zero,
      cpu::encoder_forward,
      cpu::encoder_backward,
      cpu::layernorm_forward,
      cpu::layernorm_backward,
      cpu::rmsnorm_forward,
      cpu::rmsnorm_backward,
      cpu::matmul_forward,
      cpu::matmul_backward,
      cpu::split_heads,
      cpu::split_heads_backward,
      cpu::merge_heads,
      cpu::merge_heads_backward,
      cpu::rope_forward,
      cpu::rope_backward,
      cpu::attention_forward,
      cpu::attention_backward,
      cpu::attention_decode,
      cpu::residual_forward,
      cpu::gelu_forward,
      cpu::gelu_backward,
      cpu::swiglu_forward,
      cpu::swiglu_backward,
      cpu::softmax_crossentropy_forward,
      cpu::softmax_crossentropy_backward,
      cpu::sum_squares,
      cpu::adamw,
      cpu::qk_norm_forward,
      cpu::qk_norm_backward,
      cpu::geglu_forward,
      cpu::geglu_backward,
      cpu::scale,
      cpu::softcap_forward,
      cpu::softcap_backward,
      nullptr,
  };
}
}  // namespace

const Ops& cpu_ops() {
  static const Ops ops = make_cpu_ops();
  return ops;
}

// A bf16 model: the matrices live only as bf16 and the linear layers run on them (bf16w); the
// f32 matmul entries run the gemms in bf16 for what still holds f32 operands. Everything else
// (attention, norms, loss, AdamW on the f32 masters of trained slices) stays f32.
const Ops& cpu_ops_bf16() {
  static const Bf16WeightOps bf16w{
      cpu::linear_forward_bf16w, cpu::linear_backward_input_bf16w, cpu::matmul_backward_weight_block,
      cpu::encoder_forward, cpu::round_block, cpu::widen_block, cpu::copy_block,
  };
  static const Ops ops = [] {
    Ops o = make_cpu_ops();
    o.name = "cpu-bf16";
    o.matmul_forward = cpu::matmul_forward_bf16;
    o.matmul_backward = cpu::matmul_backward_bf16;
    o.bf16w = &bf16w;
    return o;
  }();
  return ops;
}

}  // namespace hg
