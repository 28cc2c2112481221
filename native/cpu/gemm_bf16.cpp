// cpu::gemm_bf16: which implementation runs, and why (see cpu/gemm_bf16.h), and the rounding.
#include "cpu/gemm_bf16.h"

#include <cstdlib>
#include <cstring>

#include "core/errors.h"
#include "cpu/gemm_bf16_onednn.h"
#include "cpu/gemm_bf16_own.h"

namespace hg {
namespace cpu {

namespace {

// The own kernel's instructions here: AMX tiles where they run, else vdpbf16ps.
std::string own_isa() { return own_amx_runs() ? "amx_bf16" : "avx512_bf16"; }
std::string own_what() {
  if (own_amx_runs()) return "own AMX-BF16 kernel (tdpbf16ps tiles)";
  return "own AVX512-BF16 kernel (vdpbf16ps" + (cpu_has_amx_bf16() ? "; no AMX tiles: " + own_amx_missing() : "") + ")";
}

// Why the own kernel cannot run here ("" when it can).
std::string own_missing() {
  if (own_bf16_runs()) return "";
  if (!cpu_has_avx512_bf16()) return "the CPU has no AVX512-BF16";
  return "the compiler that built headgrad could not build the AVX512-BF16 kernel";
}

// Why oneDNN cannot run bf16 here ("" when it can).
std::string onednn_missing() {
  const OnednnBf16& d = onednn_bf16();
  if (!d.built) return "this build has no oneDNN (libdnnl-dev was not found when it was built)";
  if (!d.bf16) return "oneDNN " + d.version + " finds no bf16 instructions (ISA " + d.isa + ")";
  return "";
}

Bf16Support use(Bf16Impl impl, const std::string& why) {
  Bf16Support s;
  s.available = true;
  s.impl = impl;
  s.isa = impl == Bf16Impl::Own ? own_isa() : onednn_bf16().isa;
  const std::string what = impl == Bf16Impl::Own
                               ? own_what()
                               : "oneDNN " + onednn_bf16().version + " bf16 matmul on " + onednn_bf16().isa;
  s.reason = what + ": " + why;
  return s;
}

Bf16Support none(const std::string& why) {
  Bf16Support s;
  s.reason = why + ": f32 runs";
  return s;
}

Bf16Support choose() {
  const char* off = std::getenv("HEADGRAD_CPU_BF16");
  if (off && std::strcmp(off, "off") == 0) return none("HEADGRAD_CPU_BF16=off");
  const std::string own = own_missing(), dnnl = onednn_missing();
  const char* forced = std::getenv("HEADGRAD_CPU_GEMM");
  const std::string want = forced ? forced : "";
  if (want == "own") return own.empty() ? use(Bf16Impl::Own, "HEADGRAD_CPU_GEMM=own") : none("HEADGRAD_CPU_GEMM=own but " + own);
  if (want == "onednn")
    return dnnl.empty() ? use(Bf16Impl::Onednn, "HEADGRAD_CPU_GEMM=onednn") : none("HEADGRAD_CPU_GEMM=onednn but " + dnnl);
  const std::string note = want.empty() ? "" : " (HEADGRAD_CPU_GEMM=" + want + " is neither own nor onednn)";
  // oneDNN first wherever it is built. On a 2-core AMX Xeon its AMX path and the own tile kernel
  // ran level on single GEMMs (1024³ and the Llama-3.2-1B linear shapes, 2 threads, interleaved),
  // but the whole 1B pattern extraction ran 141-143 tokens/s on oneDNN against 120-122 on the own
  // kernel (HEADGRAD_CPU_GEMM=onednn|own HEADGRAD_BENCH=peers HEADGRAD_PEERS_ROWS=Llama npm run
  // bench); on a Zen 4 without AMX oneDNN's avx512_core_bf16 path gave 227-297 GFLOP/s, above the
  // vdpbf16ps kernel. The own kernel (AMX tiles where the CPU has them) is what a build without
  // oneDNN (npm only) gets.
  if (dnnl.empty())
    return use(Bf16Impl::Onednn, std::string(cpu_has_amx_bf16() && onednn_bf16().amx ? "the CPU has AMX, which oneDNN uses" : "oneDNN is built and is faster than the own kernel") + note);
  if (own.empty()) return use(Bf16Impl::Own, std::string(own_amx_runs() ? "the CPU has AMX and " : "the CPU has AVX512-BF16 and ") + dnnl + note);
  return none(own + "; " + dnnl + note);
}

}  // namespace

const Bf16Support& bf16_support() {
  static const Bf16Support s = choose();
  return s;
}

const char* bf16_impl_name(Bf16Impl impl) {
  switch (impl) {
    case Bf16Impl::Own: return "own";
    case Bf16Impl::Onednn: return "onednn";
    default: return "none";
  }
}

bool bf16_impl_runs(Bf16Impl impl) {
  if (impl == Bf16Impl::Own) return own_missing().empty();
  if (impl == Bf16Impl::Onednn) return onednn_missing().empty();
  return false;
}

void gemm_bf16_with(Bf16Impl impl, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                    const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  HG_CHECK(bf16_impl_runs(impl), std::string("gemm_bf16: the ") + bf16_impl_name(impl) + " implementation cannot run here");
  HG_CHECK(alpha == 1.f && (beta == 0.f || beta == 1.f), "gemm_bf16: needs alpha = 1 and beta 0 or 1");
  if (M == 0 || N == 0) return;
  if (K == 0) {  // op(A)·op(B) = 0
    if (beta == 0.f)
      for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, static_cast<size_t>(N) * 4);
    return;
  }
  if (impl == Bf16Impl::Own) return gemm_bf16_avx512(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  gemm_bf16_onednn(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  HG_CHECK(bf16_support().available, "gemm_bf16: " + bf16_support().reason);
  gemm_bf16_with(bf16_support().impl, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace cpu
}  // namespace hg
