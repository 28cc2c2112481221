// CUDA runtime errors become hg::Error (a JS Error in the addon), never an abort: every runtime
// call in native/cuda goes through HG_CUDA_CHECK, and every kernel launch is followed by
// HG_CUDA_CHECK(cudaGetLastError()).
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "core/errors.h"

namespace hg {
namespace cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  // A failed call also sets the runtime's "last error"; clear it so that the next, unrelated
  // cudaGetLastError() check does not report this one a second time. (Sticky errors such as an
  // illegal address cannot be cleared; they keep failing every call, which is the truth.)
  cudaGetLastError();
  throw_error(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ") in " + call +
              " at " + file + ":" + std::to_string(line));
}

}  // namespace cuda
}  // namespace hg

#define HG_CUDA_CHECK(call)                                                          \
  do {                                                                               \
    cudaError_t hg_cuda_err_ = (call);                                               \
    if (hg_cuda_err_ != cudaSuccess)                                                 \
      ::hg::cuda::throw_cuda_error(hg_cuda_err_, #call, __FILE__, __LINE__);         \
  } while (0)
