#include "cpu/matmul.h"

#include "cpu/gemm.h"
#include "cpu/parallel.h"

namespace hg {
namespace cpu {

// out [N,OC], inp [N,IC], w [OC,IC], bias [OC] or null
void matmul_forward(float* out, const float* inp, const float* w, const float* bias, int64_t N,
                    int64_t IC, int64_t OC) {
  gemm(false, true, N, OC, IC, 1.f, inp, IC, w, IC, 0.f, out, OC);
  if (!bias) return;
  parallel_chunks(N, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t o = 0; o < OC; ++o) out[r * OC + o] += bias[o];
  });
}

// Forward: out = inp · wᵀ + bias.
void matmul_backward(float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                     const float* w, int64_t N, int64_t IC, int64_t OC) {
  gemm(false, false, N, IC, OC, 1.f, dout, OC, w, IC, 0.f, dinp, IC);  // dinp = dout · w
  if (dw) gemm(true, false, OC, IC, N, 1.f, dout, OC, inp, IC, 1.f, dw, IC);  // dw += doutᵀ · inp
  if (!dbias) return;
  parallel_chunks(OC, 64, [&](int64_t o0, int64_t o1) {  // column sums, rows in order
    for (int64_t r = 0; r < N; ++r)
      for (int64_t o = o0; o < o1; ++o) dbias[o] += dout[r * OC + o];
  });
}

}  // namespace cpu
}  // namespace hg
