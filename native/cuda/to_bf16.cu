// f32 -> bf16 conversion (round to nearest even) of the inputs of the tensor-core kernels.
//   src : [n] f32      dst : [n] bf16
#include "cuda/attention_kernels.cuh"
#include "cuda/attention_traits.cuh"
#include "cuda/cuda_check.cuh"

namespace hg {
namespace cuda {
namespace {

__global__ void to_bf16_kernel(const float* __restrict__ src, bf16* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16_rn(src[i]);
}

}  // namespace

void launch_to_bf16(const float* src, bf16* dst, int64_t n, cudaStream_t stream) {
  const int threads = ElementwiseTraits::kThreads;
  to_bf16_kernel<<<elementwise_grid(n, threads), threads, 0, stream>>>(src, dst, n);
  HG_CUDA_CHECK(cudaGetLastError());
}

}  // namespace cuda
}  // namespace hg
