// Linear layers whose weights live only as bf16 (a bf16 model's matrices; see
// docs/memory.md). W is bf16 bits, plain row-major [OC, IC] (the canonical layout's element
// order, no packing). The f32 input (A or dout) is rounded to bf16 (nearest even, cpu::to_bf16)
// on the way in; products of two bf16 numbers are exact in f32 and accumulate in f32.
//
// Which implementation runs is decided once (linear_bf16_choice()): oneDNN's matmul reading W
// in place through a strided descriptor where the build has oneDNN and the CPU has bf16
// instructions, else a portable path that widens tiles of W to f32 (exact) and runs cpu::gemm
// on the rounded input: the same products, so the two differ only in summation order.
#pragma once
#include <cstdint>
#include <string>

namespace hg {
namespace cpu {

// out[N,OC] = bf16(A)[N,IC] · Wᵀ + bias[OC] (bias may be null). Overwrites out.
void linear_forward_bf16w(float* out, const float* A, const uint16_t* W, const float* bias,
                          int64_t N, int64_t IC, int64_t OC);
// dinp[N,IC] = bf16(dout)[N,OC] · W. Overwrites dinp.
void linear_backward_input_bf16w(float* dinp, const float* dout, const uint16_t* W,
                                 int64_t N, int64_t IC, int64_t OC);

enum class LinearBf16Impl { Dnnl, Portable };
struct LinearBf16Choice {
  LinearBf16Impl impl = LinearBf16Impl::Portable;
  std::string reason;  // one line for backendInfo().cpu.bf16Linear
};
const LinearBf16Choice& linear_bf16_choice();
const char* linear_bf16_impl_name(LinearBf16Impl impl);
bool linear_bf16_impl_available(LinearBf16Impl impl);

// The same with an explicit implementation (tests hold every one to the same reference).
void linear_forward_bf16w_with(LinearBf16Impl impl, float* out, const float* A, const uint16_t* W,
                               const float* bias, int64_t N, int64_t IC, int64_t OC);
void linear_backward_input_bf16w_with(LinearBf16Impl impl, float* dinp, const float* dout,
                                      const uint16_t* W, int64_t N, int64_t IC, int64_t OC);

}  // namespace cpu
}  // namespace hg
