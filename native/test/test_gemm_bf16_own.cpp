// The own AVX512-BF16 GEMM (cpu/gemm_bf16_own.h) against a float64 reference on the same
// bf16-rounded operands: the two linear forms on bf16 weights (out = A·Wᵀ + bias, dinp = dout·W)
// and the f32 × f32 form with every transpose, beta 0 and 1, strided rows; odd shapes (1×1×1, N =
// 1, sizes off the register and cache blocks, K across several K blocks with an odd tail). The
// same inputs run with HEADGRAD_THREADS=1 in a child process must give the same bits. Skipped
// (exit 77) where the CPU has no AVX512-BF16.
//
// Bound, from f32 accumulation over K: products of two bf16 are exact in f32, so only additions
// round, each by at most u = 2^-24 of its result. An element takes at most K additions within
// its K blocks, plus 2 per block for adding the block onto C (and beta·C, the bias). Every
// result is at most 2·max|S_k| + max|p_k| + |beta·C0| + |bias| in size (S_k: the exact partial
// sums in k order; 2· because a block restarts from 0; max|p_k| because vdpbf16ps adds the odd k
// of a pair before the even one). The bound is that count times that size times u, plus 1%.
// The blocks are counted with the vdpbf16ps kernel's KC (512), the smaller of the two kernels'
// (AMX tiles: 1024), so the bound covers both. On a CPU with AMX the tiles run the untransposed
// forms, and a child process runs every case again with HEADGRAD_CPU_AMX=off.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/gemm_bf16.h"
#include "cpu/gemm_bf16_avx512.h"
#include "cpu/gemm_bf16_own.h"
#include "test_util.h"

using namespace hgtest;
using hg::cpu::from_bf16;
using hg::cpu::to_bf16;

namespace {

constexpr double kU = 1.0 / (1 << 24);

double r16(float x) { return from_bf16(to_bf16(x)); }

std::vector<uint16_t> to_bits(const std::vector<float>& v) {
  std::vector<uint16_t> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = to_bf16(v[i]);
  return b;
}

// Every output of the run, for the thread-count comparison.
std::vector<float>& transcript() {
  static std::vector<float> t;
  return t;
}

// want = alpha·Σ_k a(i,k)·b(k,j) + c0 + bias, with the bound above; a, b already bf16 values.
template <class FA, class FB>
bool check_element(const std::string& what, int64_t i, int64_t j, int64_t K, float alpha, FA a, FB b, double c0,
                   double bias, float got) {
  double s = 0, max_s = 0, max_p = 0;
  for (int64_t k = 0; k < K; ++k) {
    const double p = a(i, k) * b(k, j);
    s += p;
    max_s = std::max(max_s, std::fabs(s));
    max_p = std::max(max_p, std::fabs(p));
  }
  const int64_t blocks = (K + hg::cpu::Bf16GemmTraits::KC - 1) / hg::cpu::Bf16GemmTraits::KC;
  const double want = alpha * s + c0 + bias;
  const double size = std::fabs(alpha) * (2 * max_s + max_p) + std::fabs(c0) + std::fabs(bias);
  const double tol = 1.01 * kU * static_cast<double>(K + 2 * blocks + 2) * size + 1e-30;
  if (std::fabs(got - want) <= tol) return true;
  expect(false, what + " [" + std::to_string(i) + "," + std::to_string(j) + "] = " + std::to_string(got) +
                    ", want " + std::to_string(want) + " (bound " + std::to_string(tol) + ")");
  return false;
}

// out[N,OC] = A[N,IC] · Wᵀ + bias
void check_forward(int64_t N, int64_t IC, int64_t OC, bool with_bias, std::mt19937& rng) {
  const auto A = randn(rng, N * IC), Wf = randn(rng, OC * IC), bias = randn(rng, OC);
  const auto W = to_bits(Wf);
  std::vector<float> out(N * OC, NAN);
  hg::cpu::linear_forward_bf16w_avx512(out.data(), A.data(), W.data(), with_bias ? bias.data() : nullptr, N, IC, OC);
  const std::string what = "forward N=" + std::to_string(N) + " IC=" + std::to_string(IC) + " OC=" +
                           std::to_string(OC) + (with_bias ? " bias" : "");
  auto a = [&](int64_t i, int64_t k) { return r16(A[i * IC + k]); };
  auto b = [&](int64_t k, int64_t j) { return static_cast<double>(from_bf16(W[j * IC + k])); };
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < OC; ++j)
      if (!check_element(what, i, j, IC, 1.f, a, b, 0, with_bias ? bias[j] : 0, out[i * OC + j])) return;
  transcript().insert(transcript().end(), out.begin(), out.end());
}

// dinp[N,IC] = dout[N,OC] · W
void check_backward(int64_t N, int64_t IC, int64_t OC, std::mt19937& rng) {
  const auto dout = randn(rng, N * OC), Wf = randn(rng, OC * IC);
  const auto W = to_bits(Wf);
  std::vector<float> dinp(N * IC, NAN);
  hg::cpu::linear_backward_input_bf16w_avx512(dinp.data(), dout.data(), W.data(), N, IC, OC);
  const std::string what = "backward N=" + std::to_string(N) + " IC=" + std::to_string(IC) + " OC=" + std::to_string(OC);
  auto a = [&](int64_t i, int64_t k) { return r16(dout[i * OC + k]); };
  auto b = [&](int64_t k, int64_t j) { return static_cast<double>(from_bf16(W[k * IC + j])); };
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < IC; ++j)
      if (!check_element(what, i, j, OC, 1.f, a, b, 0, 0, dinp[i * IC + j])) return;
  transcript().insert(transcript().end(), dinp.begin(), dinp.end());
}

// C[M,N] = alpha·op(A)·op(B) + beta·C, both f32, strided; the columns past N must stay untouched.
void check_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, float beta, std::mt19937& rng) {
  const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
  const auto A = randn(rng, (ta ? K : M) * lda), B = randn(rng, (tb ? N : K) * ldb);
  auto C = randn(rng, M * ldc);
  if (beta == 0.f) C.assign(C.size(), NAN);  // never read
  const auto C0 = C;
  hg::cpu::gemm_bf16_avx512(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  const std::string what = "gemm ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) + " " + std::to_string(M) +
                           "x" + std::to_string(N) + "x" + std::to_string(K) + " alpha=" + std::to_string(alpha) +
                           " beta=" + std::to_string(beta);
  auto a = [&](int64_t i, int64_t k) { return r16(ta ? A[k * lda + i] : A[i * lda + k]); };
  auto b = [&](int64_t k, int64_t j) { return r16(tb ? B[j * ldb + k] : B[k * ldb + j]); };
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j)
      if (!check_element(what, i, j, K, alpha, a, b, beta == 0.f ? 0.0 : beta * C0[i * ldc + j], 0, C[i * ldc + j]))
        return;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = N; j < ldc; ++j)
      if (std::memcmp(&C[i * ldc + j], &C0[i * ldc + j], 4) != 0) return expect(false, what + ": wrote past N");
  transcript().insert(transcript().end(), C.begin(), C.end());
}

void run_all(uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  // Shapes: 1×1×1; N = 1 (generation); rows off MR = 12 (vdpbf16ps) and 16, 32 (AMX tiles),
  // columns off NR = 32 and NC = 256; K with an odd tail, off 32, and across K blocks of 512
  // (vdpbf16ps) and 1024 (AMX); a long K.
  const int64_t shapes[][3] = {{1, 1, 1},     {1, 7, 5},      {2, 3, 1},     {13, 33, 70},  {1, 130, 65},
                               {25, 65, 257}, {12, 1025, 33}, {37, 512, 64}, {5, 4099, 19}, {130, 300, 300},
                               {17, 2081, 47}, {33, 31, 16}};
  for (const auto& s : shapes) {
    check_forward(s[0], s[1], s[2], false, rng);
    check_forward(s[0], s[1], s[2], true, rng);
    check_backward(s[0], s[1], s[2], rng);
  }
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 1.f}) {
        check_gemm(ta, tb, 1, 1, 1, 1.f, beta, rng);
        check_gemm(ta, tb, 7, 13, 5, 1.f, beta, rng);
        check_gemm(ta, tb, 33, 70, 130, 0.5f, beta, rng);
        check_gemm(ta, tb, 65, 290, 1031, 1.f, beta, rng);
      }
  check_gemm(true, false, 600, 40, 96, 1.f, 1.f, rng);  // the weight-gradient shape: tall op(A), short K
}

}  // namespace

int main(int argc, char** argv) {
  const bool child = argc == 3 && std::string(argv[1]) == "--child";
  if (!hg::cpu::own_bf16_runs()) {
    std::printf("skip: the CPU has no AVX512-BF16 (or the compiler did not build the kernel)\n");
    return 77;
  }
  if (child) {  // the same cases on this process's thread count; raw outputs on stdout
    run_all(std::strtoull(argv[2], nullptr, 10));
    std::fwrite(transcript().data(), 4, transcript().size(), stdout);
    return failures() == 0 ? 0 : 1;
  }
  if (!std::getenv("HEADGRAD_THREADS")) setenv("HEADGRAD_THREADS", "2", 1);  // 2 threads here, 1 in the child
  const uint64_t seed = seed_from_env();
  const bool amx = hg::cpu::own_amx_runs();
  std::printf("seed %llu (HEADGRAD_TEST_SEED repeats it), %d threads, %s\n", static_cast<unsigned long long>(seed),
              hg::num_threads(),
              amx ? "AMX tiles (the vdpbf16ps kernel follows in a child with HEADGRAD_CPU_AMX=off)"
                  : ("vdpbf16ps kernel; no AMX tiles: " + hg::cpu::own_amx_missing()).c_str());
  run_all(seed);
  const size_t n = transcript().size();
  // One thread in a child process (the pool's size is fixed per process).
  const std::string cmd = "HEADGRAD_THREADS=1 /proc/" + std::to_string(getpid()) + "/exe --child " + std::to_string(seed);
  std::vector<float> one(n + 1);
  FILE* p = popen(cmd.c_str(), "r");
  expect(p != nullptr, "could not start the 1-thread child");
  if (p) {
    const size_t got = std::fread(one.data(), 4, n + 1, p);
    const int rc = pclose(p);
    expect(rc == 0 && got == n, "1-thread child: exit " + std::to_string(rc) + ", " + std::to_string(got) + " of " +
                                    std::to_string(n) + " values");
    expect(got == n && std::memcmp(one.data(), transcript().data(), n * 4) == 0,
           "1 thread and " + std::to_string(hg::num_threads()) + " threads give different bits");
  }
  std::printf("test_gemm_bf16_own: %zu values checked, %d failures\n", n, failures());
  if (amx) {  // the same cases on the vdpbf16ps kernel, which a CPU without AMX runs
    std::fflush(stdout);
    const std::string vnni = "HEADGRAD_CPU_AMX=off /proc/" + std::to_string(getpid()) + "/exe";
    expect(std::system(vnni.c_str()) == 0, "the vdpbf16ps kernel (HEADGRAD_CPU_AMX=off) failed");
  }
  return failures() == 0 ? 0 : 1;
}
