// The host-buffer entry points of core/cuda_api.h: copy in, run, copy out. Every device
// allocation is a DeviceBuffer, so memory is freed on every path, the error paths included.
// All allocations happen before the first copy: a shape too large for the GPU fails with the
// allocator's message before any host buffer is read.
#include "core/cuda_api.h"
#include "cuda/attention.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/device_buffer.cuh"

namespace hg {
namespace cuda {
namespace {

void upload(DeviceBuffer<float>& dst, const float* src, cudaStream_t stream) {
  HG_CUDA_CHECK(cudaMemcpyAsync(dst.get(), src, dst.bytes(), cudaMemcpyHostToDevice, stream));
}
void download(float* dst, const DeviceBuffer<float>& src, cudaStream_t stream) {
  HG_CUDA_CHECK(cudaMemcpyAsync(dst, src.get(), src.bytes(), cudaMemcpyDeviceToHost, stream));
}

}  // namespace

void attention_forward_host(const float* q, const float* k, const float* v, float* out, float* lse,
                            const AttnShape& s, const AttnParams& p, Precision prec) {
  attention::check_shape(s, p);
  const size_t n = static_cast<size_t>(s.numel()), rows = static_cast<size_t>(s.rows());
  DeviceBuffer<float> d_q(n), d_k(n), d_v(n), d_out(n), d_lse(rows);
  DeviceBuffer<unsigned char> ws(attention::forward_workspace_bytes(s, prec));
  Stream stream;
  upload(d_q, q, stream.get());
  upload(d_k, k, stream.get());
  upload(d_v, v, stream.get());
  attention::forward(d_q.get(), d_k.get(), d_v.get(), d_out.get(), d_lse.get(), s, p, prec, ws.get(), stream.get());
  download(out, d_out, stream.get());
  download(lse, d_lse, stream.get());
  HG_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
}

void attention_backward_host(const float* dout, const float* q, const float* k, const float* v,
                             const float* out, const float* lse, float* dq, float* dk, float* dv,
                             float* head_score, const AttnShape& s, const AttnParams& p, Precision prec) {
  attention::check_shape(s, p);
  const size_t n = static_cast<size_t>(s.numel()), rows = static_cast<size_t>(s.rows());
  DeviceBuffer<float> d_dout(n), d_q(n), d_k(n), d_v(n), d_out(n), d_lse(rows);
  DeviceBuffer<float> d_dq(n), d_dk(n), d_dv(n), d_score(head_score ? static_cast<size_t>(s.B * s.H) : 0);
  DeviceBuffer<unsigned char> ws(attention::backward_workspace_bytes(s, prec));
  Stream stream;
  upload(d_dout, dout, stream.get());
  upload(d_q, q, stream.get());
  upload(d_k, k, stream.get());
  upload(d_v, v, stream.get());
  upload(d_out, out, stream.get());
  upload(d_lse, lse, stream.get());
  attention::backward(d_dout.get(), d_q.get(), d_k.get(), d_v.get(), d_out.get(), d_lse.get(), d_dq.get(),
                      d_dk.get(), d_dv.get(), d_score.get(), s, p, prec, ws.get(), stream.get());
  download(dq, d_dq, stream.get());
  download(dk, d_dk, stream.get());
  download(dv, d_dv, stream.get());
  if (head_score) download(head_score, d_score, stream.get());
  HG_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
}

}  // namespace cuda
}  // namespace hg
