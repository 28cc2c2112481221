// The product's own bf16 GEMM: the loops, threads and entry points around the AVX512-BF16
// micro-kernel and packing of cpu/gemm_bf16_avx512.h. f32 operands are rounded to bf16 (nearest
// even) once, while they are packed; bf16 operands are copied; products accumulate in f32.
//
// Threads: A (all of K) is packed once per call, shared; C is cut into column blocks of NC (and
// row ranges when there are too few of those), one parallel_for item each, and every item walks
// K in the same order. Each C element is computed by one item with the same instructions,
// whatever the split, so results are bitwise the same for any thread count.
#pragma once
#include <cstdint>
#include <string>

namespace hg {
namespace cpu {

// From cpuid and the register state the OS saves (XCR0): false off x86-64.
bool cpu_has_avx512_bf16();  // AVX512F/BW/VL + AVX512_BF16, zmm state enabled
bool cpu_has_amx_bf16();     // AMX-TILE + AMX-BF16, tile state enabled

// The kernel can run here: the compiler built it and the CPU has AVX512-BF16.
bool own_bf16_runs();
// It runs on AMX tiles instead of vdpbf16ps: the CPU has AMX-BF16, the OS granted the tile
// state, and HEADGRAD_CPU_AMX is not "off". own_amx_missing() says why not.
bool own_amx_runs();
const std::string& own_amx_missing();

// out[N,OC] = A[N,IC] · Wᵀ + bias[OC] (bias may be null); W bf16 bits, row-major [OC, IC].
void linear_forward_bf16w_avx512(float* out, const float* A, const uint16_t* W, const float* bias, int64_t N,
                                 int64_t IC, int64_t OC);
// dinp[N,IC] = dout[N,OC] · W; W bf16 bits, row-major [OC, IC].
void linear_backward_input_bf16w_avx512(float* dinp, const float* dout, const uint16_t* W, int64_t N, int64_t IC,
                                        int64_t OC);
// cpu::gemm's contract (gemm.h) with both f32 operands rounded to bf16: C = alpha·op(A)·op(B) + beta·C.
void gemm_bf16_avx512(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

}  // namespace cpu
}  // namespace hg
