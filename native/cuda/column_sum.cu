// out [C] += Σ_r in [R, C] (the bias gradient of a linear layer), rows in a fixed order.
#include "cuda/column_reduce.cuh"
#include "cuda/engine_kernels.cuh"

namespace hg {
namespace cuda {
namespace {

struct Element {
  const float* in;
  __device__ float operator()(int64_t r, int64_t c) const { return in[r * C + c]; }
  int64_t C;
};

}  // namespace

void column_sum_add(float* out, const float* in, int64_t R, int64_t C) {
  column_reduce_add(out, R, C, Element{in, C});
}

}  // namespace cuda
}  // namespace hg
