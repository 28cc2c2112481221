// Dispatch of the CUDA attention (cuda/attention.cuh): checks the shape, carves the workspace,
// converts inputs for the tensor-core path and runs the kernels in order.
//
// Backward, as FlashAttention runs it:
//   1. preprocess   dvec = rowsum(dout ∘ out), head_score = Σ_t dvec   (attention_backward_stages.cu)
//   2. main loop    per key block: dk, dv; dq_accum += dS k             (attention_backward_{f32,bf16}.cu)
//   3. postprocess  dq = scale · dq_accum                                (attention_backward_stages.cu)
// dq is its own accumulator (outputs are f32), zeroed before stage 2.
#include "cuda/attention.cuh"

#include <cmath>
#include <string>

#include "core/errors.h"
#include "cuda/attention_kernels.cuh"
#include "cuda/cuda_check.cuh"

namespace hg {
namespace cuda {
namespace attention {
namespace {

constexpr size_t kAlign = 256;
size_t aligned(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

AttnDims dims_of(const AttnShape& s, const AttnParams& p) {
  check_shape(s, p);
  AttnDims d;
  d.bh = s.B * s.H;
  d.T = static_cast<int>(s.T);
  d.D = static_cast<int>(s.D);
  d.scale = effective_scale(s, p);
  d.causal = p.causal;
  d.H = static_cast<int>(s.H);
  d.group = static_cast<int>(s.H / s.kv());
  d.gains = p.gains;
  return d;
}

// Slices a workspace into consecutive 256-byte-aligned pieces.
class Carver {
 public:
  explicit Carver(void* base) : at_(static_cast<unsigned char*>(base)) {}
  template <typename T>
  T* take(size_t count) {
    T* p = reinterpret_cast<T*>(at_);
    at_ += aligned(count * sizeof(T));
    return p;
  }

 private:
  unsigned char* at_;
};

size_t bf16_copies_bytes(const AttnShape& s, int copies) {
  return copies * aligned(static_cast<size_t>(s.numel()) * sizeof(bf16));
}

}  // namespace

// The kernels index rows with int and elements with int64: T and D must fit in int, and D must
// be within the contract. (User-facing validation is core's validate_attention, run by the
// callers first; this guards the device API itself.)
void check_shape(const AttnShape& s, const AttnParams& p) {
  if (s.B < 1 || s.H < 1 || s.T < 1 || s.D < 1)
    throw_range("cuda attention: batch, heads, seqLen and headDim must be >= 1, got B=" + std::to_string(s.B) +
                " H=" + std::to_string(s.H) + " T=" + std::to_string(s.T) + " D=" + std::to_string(s.D));
  if (s.D > kMaxHeadDim)
    throw_range("cuda attention: headDim must be <= " + std::to_string(kMaxHeadDim) + ", got " + std::to_string(s.D));
  if (s.T > (int64_t{1} << 30))
    throw_range("cuda attention: seqLen must be <= 2^30, got " + std::to_string(s.T));
  if (s.KV < 0 || s.kv() > s.H || s.H % s.kv() != 0)
    throw_range("cuda attention: kvHeads must divide heads (" + std::to_string(s.H) + "), got " + std::to_string(s.KV));
  // not written without a GPU to test them; the engine refuses both on CUDA before this
  if (p.window != 0) throw_range("cuda attention: sliding-window attention is not implemented on CUDA");
  if (p.softcap != 0.f) throw_range("cuda attention: attention soft-capping is not implemented on CUDA");
  if (!std::isfinite(p.scale) || p.scale < 0.f)
    throw_range("cuda attention: scale must be a finite number > 0 (or 0 for 1/sqrt(headDim)), got " +
                std::to_string(p.scale));
}

bool uses_tensor_cores(const AttnShape& s, Precision prec) {
  return prec == Precision::BF16 && attention_bf16_head_dim(s.D);
}

size_t forward_workspace_bytes(const AttnShape& s, Precision prec) {
  return uses_tensor_cores(s, prec) ? bf16_copies_bytes(s, 3) : 0;
}

void forward(const float* q, const float* k, const float* v, float* out, float* lse, const AttnShape& s,
             const AttnParams& p, Precision prec, void* workspace, cudaStream_t stream) {
  const AttnDims d = dims_of(s, p);
  if (!uses_tensor_cores(s, prec)) return launch_forward_f32(q, k, v, out, lse, d, stream);
  Carver ws(workspace);
  const int64_t n = s.numel(), nkv = s.kv_numel();
  bf16 *q16 = ws.take<bf16>(n), *k16 = ws.take<bf16>(nkv), *v16 = ws.take<bf16>(nkv);
  launch_to_bf16(q, q16, n, stream);
  launch_to_bf16(k, k16, nkv, stream);
  launch_to_bf16(v, v16, nkv, stream);
  launch_forward_bf16(q16, k16, v16, out, lse, d, stream);
}

size_t backward_workspace_bytes(const AttnShape& s, Precision prec) {
  const size_t dvec = aligned(static_cast<size_t>(s.rows()) * sizeof(float));
  return dvec + (uses_tensor_cores(s, prec) ? bf16_copies_bytes(s, 4) : 0);
}

void backward(const float* dout, const float* q, const float* k, const float* v, const float* out,
              const float* lse, float* dq, float* dk, float* dv, float* head_score, const AttnShape& s,
              const AttnParams& p, Precision prec, void* workspace, cudaStream_t stream) {
  const AttnDims d = dims_of(s, p);
  const int64_t n = s.numel();
  Carver ws(workspace);
  float* dvec = ws.take<float>(s.rows());

  const bool tensor_cores = uses_tensor_cores(s, prec);
  launch_backward_preprocess(dout, out, dvec, head_score, tensor_cores, d, stream);
  HG_CUDA_CHECK(cudaMemsetAsync(dq, 0, static_cast<size_t>(n) * sizeof(float), stream));
  if (tensor_cores) {
    const int64_t nkv = s.kv_numel();
    bf16 *dout16 = ws.take<bf16>(n), *q16 = ws.take<bf16>(n), *k16 = ws.take<bf16>(nkv), *v16 = ws.take<bf16>(nkv);
    launch_to_bf16(dout, dout16, n, stream);
    launch_to_bf16(q, q16, n, stream);
    launch_to_bf16(k, k16, nkv, stream);
    launch_to_bf16(v, v16, nkv, stream);
    launch_backward_bf16(dout16, q16, k16, v16, lse, dvec, dq, dk, dv, d, stream);
  } else {
    launch_backward_f32(dout, q, k, v, lse, dvec, dq, dk, dv, d, stream);
  }
  launch_backward_postprocess(dq, n, d.scale, stream);
}

}  // namespace attention

bool attention_bf16_head_dim(int64_t head_dim) { return head_dim == 64 || head_dim == 128; }

}  // namespace cuda
}  // namespace hg
