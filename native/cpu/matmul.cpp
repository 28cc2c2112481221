#include "cpu/matmul.h"

#include "cpu/gemm.h"
#include "cpu/gemm_bf16.h"
#include "cpu/parallel.h"

namespace hg {
namespace cpu {
namespace {

using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                        int64_t, float, float*, int64_t);

// out [N,OC], inp [N,IC], w [OC,IC], bias [OC] or null
void forward_with(GemmFn gemm_fn, float* out, const float* inp, const float* w, const float* bias, int64_t N,
                  int64_t IC, int64_t OC) {
  gemm_fn(false, true, N, OC, IC, 1.f, inp, IC, w, IC, 0.f, out, OC);
  if (!bias) return;
  parallel_chunks(N, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t o = 0; o < OC; ++o) out[r * OC + o] += bias[o];
  });
}

// Forward: out = inp · wᵀ + bias.
void backward_with(GemmFn gemm_fn, float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                   const float* w, int64_t N, int64_t IC, int64_t OC) {
  gemm_fn(false, false, N, IC, OC, 1.f, dout, OC, w, IC, 0.f, dinp, IC);  // dinp = dout · w
  if (dw) gemm_fn(true, false, OC, IC, N, 1.f, dout, OC, inp, IC, 1.f, dw, IC);  // dw += doutᵀ · inp
  if (!dbias) return;
  parallel_chunks(OC, 64, [&](int64_t o0, int64_t o1) {  // column sums, rows in order
    for (int64_t r = 0; r < N; ++r)
      for (int64_t o = o0; o < o1; ++o) dbias[o] += dout[r * OC + o];
  });
}

}  // namespace

void matmul_forward(float* out, const float* inp, const float* w, const float* bias, int64_t N,
                    int64_t IC, int64_t OC) {
  forward_with(gemm, out, inp, w, bias, N, IC, OC);
}
void matmul_backward(float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                     const float* w, int64_t N, int64_t IC, int64_t OC) {
  backward_with(gemm, dinp, dw, dbias, dout, inp, w, N, IC, OC);
}
void matmul_forward_bf16(float* out, const float* inp, const float* w, const float* bias, int64_t N,
                         int64_t IC, int64_t OC) {
  forward_with(gemm_bf16, out, inp, w, bias, N, IC, OC);
}
void matmul_backward_bf16(float* dinp, float* dw, float* dbias, const float* dout, const float* inp,
                          const float* w, int64_t N, int64_t IC, int64_t OC) {
  backward_with(gemm_bf16, dinp, dw, dbias, dout, inp, w, N, IC, OC);
}

void matmul_backward_weight_block(float* dw, int64_t ldw, float* dbias, const float* dout, int64_t ldo,
                                  const float* inp, int64_t ldi, int64_t N, int64_t rows, int64_t cols) {
  const GemmFn gemm_fn = bf16_support().available ? gemm_bf16 : gemm;
  if (dw) gemm_fn(true, false, rows, cols, N, 1.f, dout, ldo, inp, ldi, 1.f, dw, ldw);  // dw += doutᵀ · inp
  if (!dbias) return;
  parallel_chunks(rows, 64, [&](int64_t o0, int64_t o1) {  // column sums, rows of dout in order
    for (int64_t r = 0; r < N; ++r)
      for (int64_t o = o0; o < o1; ++o) dbias[o] += dout[r * ldo + o];
  });
}

}  // namespace cpu
}  // namespace hg
