#include "cuda/scratch.cuh"

#include "cuda/cuda_check.cuh"
#include "cuda/device_buffer.cuh"

namespace hg {
namespace cuda {

void* scratch(size_t bytes) {
  thread_local DeviceBuffer<unsigned char> buffer;
  if (buffer.bytes() < bytes) {
    buffer = DeviceBuffer<unsigned char>();  // free first: the old and new blocks need not coexist
    buffer = DeviceBuffer<unsigned char>(bytes + bytes / 4);  // headroom against many small growths
  }
  return buffer.get();
}

void copy_to_device(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  HG_CUDA_CHECK(cudaMemcpy(dst, host_src, bytes, cudaMemcpyHostToDevice));
}

}  // namespace cuda
}  // namespace hg
