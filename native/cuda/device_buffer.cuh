// Owning handles for device memory and streams. Move-only, so a buffer has exactly one owner
// and is freed on every path out of a function, the error paths included.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "cuda/cuda_check.cuh"

namespace hg {
namespace cuda {

inline std::string format_bytes(size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%zu bytes (%.2f GiB)", bytes, static_cast<double>(bytes) / (1u << 30));
  return buf;
}

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count == 0) return;
    if (count > SIZE_MAX / sizeof(T)) throw_range("CUDA: a device buffer of " + std::to_string(count) + " elements overflows size_t");
    cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&ptr_), bytes());
    if (e != cudaSuccess) {
      cudaGetLastError();  // an out-of-memory error is not sticky; do not let it leak into later checks
      ptr_ = nullptr;
      throw_error("CUDA: could not allocate " + format_bytes(bytes()) + " of device memory: " + cudaGetErrorString(e));
    }
  }
  ~DeviceBuffer() { release(); }

  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      count_ = std::exchange(o.count_, 0);
    }
    return *this;
  }

  T* get() const { return ptr_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  void release() {
    if (ptr_) cudaFree(ptr_);  // nothing useful to do with an error here (destructor)
    ptr_ = nullptr;
  }
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

// A non-blocking stream, so concurrent calls from different host threads (AsyncWorkers) do not
// serialise on the legacy default stream.
class Stream {
 public:
  Stream() { HG_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(s_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

}  // namespace cuda
}  // namespace hg
