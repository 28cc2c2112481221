// The five loops around the AVX512-BF16 micro-kernel (see cpu/gemm_bf16_own.h for the split
// into threads and why it is deterministic). Compiled for the build's baseline target: the only
// AVX-512 code is behind bf16k:: (cpu/gemm_bf16_avx512.cpp), called once cpuid allowed it.
#include "cpu/gemm_bf16_own.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/thread_pool.h"
#include "cpu/gemm_bf16_avx512.h"
#include "cpu/parallel.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace hg {
namespace cpu {
namespace {

using T = Bf16GemmTraits;

#if defined(__x86_64__)
uint64_t xcr0() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;  // no OSXSAVE: no xgetbv
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}
#endif

// op(B) as stored: f32 or bf16 bits, row stride ld, transposed or not.
struct BOperand {
  const float* f32;
  const uint16_t* bf16;
  int64_t ld;
  bool trans;
};

// The two micro-kernels behind one loop nest: where a row panel of packed A starts, how to pack
// A and a B block, and the block call (cpu/gemm_bf16_avx512.h has both layouts).
struct VnniKernel {  // vdpbf16ps on zmm registers
  using Traits = Bf16GemmTraits;
  static int64_t panel_words(int64_t K) { return (K + 1) / 2 * Traits::MR; }
  static int64_t k_offset(int64_t k0) { return k0 / 2 * Traits::MR; }
  static int64_t b_words() { return Traits::NC * (Traits::KC / 2); }
  static void pack_a(uint32_t* dst, const float* A, int64_t lda, bool ta, int64_t i0, int64_t rows, int64_t K) {
    bf16k::pack_a(dst, A, lda, ta, i0, rows, K);
  }
  template <typename E>
  static void pack_b(uint32_t* dst, const E* B, int64_t ld, bool trans, int64_t k0, int64_t kc, int64_t j0, int64_t nc) {
    if constexpr (sizeof(E) == 2) bf16k::pack_b_bf16(dst, B, ld, trans, k0, kc, j0, nc);
    else bf16k::pack_b_f32(dst, B, ld, trans, k0, kc, j0, nc);
  }
  static void block(const uint32_t* a, int64_t K, int64_t rows, const uint32_t* b, int64_t kc, int64_t nc, float* C,
                    int64_t ldc, float alpha, float beta, const float* bias) {
    bf16k::block(a, panel_words(K), rows, b, kc, nc, C, ldc, alpha, beta, bias);
  }
};

struct AmxKernel {  // TDPBF16PS on tiles
  using Traits = AmxGemmTraits;
  static int64_t panel_words(int64_t K) { return 2 * amxk::a_tile_words(K); }
  static int64_t k_offset(int64_t k0) { return k0 / 32 * 256; }
  static int64_t b_words() { return amxk::b_block_words(Traits::KC, Traits::NC); }
  static void pack_a(uint32_t* dst, const float* A, int64_t lda, bool ta, int64_t i0, int64_t rows, int64_t K) {
    amxk::pack_a(dst, A, lda, ta, i0, rows, K);
  }
  template <typename E>
  static void pack_b(uint32_t* dst, const E* B, int64_t ld, bool trans, int64_t k0, int64_t kc, int64_t j0, int64_t nc) {
    if constexpr (sizeof(E) == 2) amxk::pack_b_bf16(dst, B, ld, trans, k0, kc, j0, nc);
    else amxk::pack_b_f32(dst, B, ld, trans, k0, kc, j0, nc);
  }
  static void block(const uint32_t* a, int64_t K, int64_t rows, const uint32_t* b, int64_t kc, int64_t nc, float* C,
                    int64_t ldc, float alpha, float beta, const float* bias) {
    amxk::block(a, amxk::a_tile_words(K), rows, b, kc, nc, C, ldc, alpha, beta, bias);
  }
};

// C[M,N] = alpha · op(A)[M,K] · op(B)[K,N] + beta · C + bias[N] (bias may be null).
template <class Kern>
void run_with(bool ta, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const BOperand& B,
              float beta, float* C, int64_t ldc, const float* bias) {
  using T = typename Kern::Traits;
  const int64_t panel_words = Kern::panel_words(K);
  // Rows per super-block: its packed A stays under kApackBytes (the weight gradient's op(A) can
  // have 100k rows); a whole number of panels.
  const int64_t super_rows = std::max<int64_t>(1, T::kApackBytes / (panel_words * 4)) * T::MR;
  thread_local std::vector<uint32_t> apack;  // the calling thread's; the pool's threads read it
  const int64_t col_blocks = (N + T::NC - 1) / T::NC;
  for (int64_t m0 = 0; m0 < M; m0 += super_rows) {
    const int64_t rows = std::min(super_rows, M - m0), panels = (rows + T::MR - 1) / T::MR;
    apack.resize(static_cast<size_t>(panels * panel_words));
    uint32_t* ap = apack.data();
    const float* a0 = ta ? A + m0 : A + m0 * lda;
    parallel_chunks(panels, std::max<int64_t>(1, 65536 / panel_words), [&](int64_t p0, int64_t p1) {
      const int64_t i0 = p0 * T::MR, n = std::min(rows, p1 * T::MR) - i0;
      Kern::pack_a(ap + p0 * panel_words, a0, lda, ta, i0, n, K);
    }, 2 * T::MR * K);
    // Enough items to keep every thread busy twice over: column blocks, then row ranges.
    const int64_t want = 2 * num_threads();
    const int64_t row_splits = std::min(panels, std::max<int64_t>(1, (want + col_blocks - 1) / col_blocks));
    const int64_t panels_per_split = (panels + row_splits - 1) / row_splits;
    float* c0 = C + m0 * ldc;
    parallel_for(col_blocks * row_splits, [&](int64_t item) {
      const int64_t p0 = (item / col_blocks) * panels_per_split;
      if (p0 >= panels) return;
      const int64_t i0 = p0 * T::MR, n_rows = std::min(rows, (p0 + panels_per_split) * T::MR) - i0;
      const int64_t j0 = (item % col_blocks) * T::NC, nc = std::min(T::NC, N - j0);
      thread_local std::vector<uint32_t> bpack;
      bpack.resize(static_cast<size_t>(Kern::b_words()));
      for (int64_t k0 = 0; k0 < K; k0 += T::KC) {
        const int64_t kc = std::min(T::KC, K - k0);
        if (B.bf16) Kern::pack_b(bpack.data(), B.bf16, B.ld, B.trans, k0, kc, j0, nc);
        else Kern::pack_b(bpack.data(), B.f32, B.ld, B.trans, k0, kc, j0, nc);
        // The first K block applies beta and the bias; later blocks add onto what it wrote.
        const bool first = k0 == 0;
        Kern::block(ap + p0 * panel_words + Kern::k_offset(k0), K, n_rows, bpack.data(), kc, nc, c0 + i0 * ldc + j0,
                    ldc, alpha, first ? beta : 1.f, first && bias ? bias + j0 : nullptr);
      }
    }, rows * N * K / 32);
  }
}

void run(bool ta, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const BOperand& B,
         float beta, float* C, int64_t ldc, const float* bias) {
  HG_CHECK(own_bf16_runs(), "the own bf16 gemm needs a CPU with AVX512-BF16 and a compiler that builds it");
  if (M <= 0 || N <= 0) return;
  if (K == 0) {  // op(A)·op(B) = 0
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j)
        C[i * ldc + j] = (beta == 0.f ? 0.f : beta * C[i * ldc + j]) + (bias ? bias[j] : 0.f);
    return;
  }
  if (own_amx_runs()) return run_with<AmxKernel>(ta, M, N, K, alpha, A, lda, B, beta, C, ldc, bias);
  run_with<VnniKernel>(ta, M, N, K, alpha, A, lda, B, beta, C, ldc, bias);
}

}  // namespace

bool cpu_has_avx512_bf16() {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const unsigned max_sub = a;
  const bool f = b & (1u << 16), bw = b & (1u << 30), vl = b & (1u << 31);
  if (!(f && bw && vl) || max_sub < 1) return false;
  __get_cpuid_count(7, 1, &a, &b, &c, &d);
  const bool bf16 = a & (1u << 5);
  return bf16 && (xcr0() & 0xe6) == 0xe6;  // SSE, AVX, opmask, zmm upper halves, zmm16-31
#else
  return false;
#endif
}

bool cpu_has_amx_bf16() {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool amx_bf16 = d & (1u << 22), amx_tile = d & (1u << 24);
  return amx_bf16 && amx_tile && (xcr0() & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA
#else
  return false;
#endif
}

bool own_bf16_runs() {
  static const bool ok = bf16k::built() && cpu_has_avx512_bf16();
  return ok;
}

namespace {
// Linux hands a process the AMX tile state only when asked (arch_prctl ARCH_REQ_XCOMP_PERM for
// XTILEDATA, Linux 5.16+); asked once, for every thread. "" when the tiles can run.
std::string amx_why_not() {
  if (!amxk::built()) return "the compiler that built headgrad could not build the AMX kernel";
  if (!cpu_has_amx_bf16()) return "the CPU has no AMX-BF16";
  const char* off = std::getenv("HEADGRAD_CPU_AMX");
  if (off && std::strcmp(off, "off") == 0) return "HEADGRAD_CPU_AMX=off";
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kReqXcompPerm = 0x1023, kXtiledata = 18;
  if (syscall(SYS_arch_prctl, kReqXcompPerm, kXtiledata) != 0)
    return std::string("the kernel refused the AMX tile state (arch_prctl: ") + std::strerror(errno) + ")";
  return "";
#else
  return "AMX tiles are used on Linux only";
#endif
}
}  // namespace

const std::string& own_amx_missing() {
  static const std::string why = own_bf16_runs() ? amx_why_not() : "the own kernel does not run here";
  return why;
}

bool own_amx_runs() { return own_amx_missing().empty(); }

void linear_forward_bf16w_avx512(float* out, const float* A, const uint16_t* W, const float* bias, int64_t N,
                                 int64_t IC, int64_t OC) {
  // op(B)(k = i, j = o) = W[o·IC + i]
  run(false, N, OC, IC, 1.f, A, IC, BOperand{nullptr, W, IC, true}, 0.f, out, OC, bias);
}

void linear_backward_input_bf16w_avx512(float* dinp, const float* dout, const uint16_t* W, int64_t N, int64_t IC,
                                        int64_t OC) {
  // op(B)(k = o, j = i) = W[o·IC + i]
  run(false, N, IC, OC, 1.f, dout, OC, BOperand{nullptr, W, IC, false}, 0.f, dinp, IC, nullptr);
}

void gemm_bf16_avx512(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                      int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  run(trans_a, M, N, K, alpha, A, lda, BOperand{B, nullptr, ldb, trans_b}, beta, C, ldc, nullptr);
}

}  // namespace cpu
}  // namespace hg
