// The CUDA ops tables (core/ops_cuda.h) against the CPU table, op by op, on fresh random inputs
// (seed printed; HEADGRAD_TEST_SEED=n repeats a run), then the whole GPT engine on both. Needs a
// GPU: without one (or without the CUDA backend in this build) it prints a visible "skipped"
// line and passes. The CPU ops are themselves held to float64 references (test_gemm.cpp, ...).
//
// Error measure: max|cuda − cpu| / max(max|cpu|, 1e-30) per tensor. Tolerances: f32 1e-5 for
// elementwise ops, 2e-5 for reductions and GEMMs (summation order differs); bf16 1e-2 (operands
// rounded to 8 mantissa bits). "+=" outputs start from random values, so a kernel that
// overwrites instead of accumulating fails. Reductions are also run twice: bitwise equal.
#include <cstdio>

#ifndef HEADGRAD_WITH_CUDA
int main() {
  std::printf("test_engine_cuda: skipped: this build has no CUDA backend\n");
  return 77;  // ctest SKIP_RETURN_CODE
}
#else

#include <functional>
#include <tuple>

#include "core/cuda_api.h"
#include "core/gpt.h"
#include "core/ops.h"
#include "core/ops_cuda.h"
#include "core/rope.h"
#include "cpu/gemm.h"
#include "cuda/device_buffer.cuh"
#include "cuda/engine_kernels.cuh"
#include "test_util.h"

using hg::Ops;
using hgtest::expect;
using hgtest::failures;
using hg::cuda::DeviceBuffer;
using hg::cuda::Precision;
using Vec = std::vector<float>;
using IVec = std::vector<int32_t>;

namespace {

std::mt19937_64 rng;

const char* name_of(Precision p) { return p == Precision::BF16 ? "bf16" : "f32"; }
double tolerance(Precision p, double f32_tol) { return p == Precision::BF16 ? 1e-2 : f32_tol; }

Vec randn(size_t n, float stddev = 1.f) { return hgtest::randn(rng, n, stddev); }
IVec randint(size_t n, int32_t lo, int32_t hi) {  // [lo, hi)
  std::uniform_int_distribution<int32_t> d(lo, hi - 1);
  IVec v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

template <typename T>
DeviceBuffer<T> dev(const std::vector<T>& h) {
  DeviceBuffer<T> d(h.size());
  if (!h.empty()) HG_CUDA_CHECK(cudaMemcpy(d.get(), h.data(), d.bytes(), cudaMemcpyHostToDevice));
  return d;
}
template <typename T>
std::vector<T> host(const DeviceBuffer<T>& d) {
  std::vector<T> h(d.size());
  if (!h.empty()) HG_CUDA_CHECK(cudaMemcpy(h.data(), d.get(), d.bytes(), cudaMemcpyDeviceToHost));
  return h;
}

// Prints the error of every comparison, so a GPU run's log shows the margins, not just "ok".
void compare(const std::string& what, const Vec& got, const Vec& want, double tol) {
  if (got.size() != want.size()) return expect(false, what + ": size " + std::to_string(got.size()));
  const double rel = hgtest::max_rel_error(got, want, 1e-30);
  std::printf("  %-58s rel err %.2e (tol %.0e)\n", what.c_str(), rel, tol);
  expect(rel <= tol, what + ": relative error " + std::to_string(rel) + " > " + std::to_string(tol));
}

void bitwise_equal(const std::string& what, const Vec& a, const Vec& b) {
  expect(hgtest::same_bits(a, b), what + ": two runs differ (not deterministic)");
}

// ---- GEMM, every transpose, odd shapes, bias and accumulation ----
void check_gemm(Precision prec) {
  struct Shape {
    int64_t M, N, K;
  };
  for (Shape s : {Shape{1, 1, 1}, Shape{37, 53, 29}, Shape{130, 257, 65}, Shape{64, 64, 1000}, Shape{5, 300, 17}}) {
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        for (int accumulate = 0; accumulate < 2; ++accumulate) {
          const int64_t lda = ta ? s.M : s.K, ldb = tb ? s.K : s.N;
          const Vec A = randn(static_cast<size_t>(s.M * s.K)), B = randn(static_cast<size_t>(s.K * s.N));
          const Vec bias = randn(static_cast<size_t>(s.N)), C0 = randn(static_cast<size_t>(s.M * s.N));
          Vec want = C0;
          hg::cpu::gemm(ta, tb, s.M, s.N, s.K, 1.f, A.data(), lda, B.data(), ldb, accumulate ? 1.f : 0.f, want.data(), s.N);
          for (int64_t r = 0; r < s.M; ++r)
            for (int64_t c = 0; c < s.N; ++c) want[r * s.N + c] += bias[c];
          auto dA = dev(A), dB = dev(B), dbias = dev(bias), dC = dev(C0);
          hg::cuda::gemm(prec, ta, tb, s.M, s.N, s.K, dA.get(), lda, dB.get(), ldb, dC.get(), s.N, dbias.get(), accumulate);
          compare(std::string("gemm ") + name_of(prec) + " " + (ta ? "T" : "N") + (tb ? "T" : "N") + (accumulate ? " +=" : "") +
                      " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K),
                  host(dC), want, tolerance(prec, 2e-5));
        }
      }
    }
  }
}

// ---- ops-table checks: the same call on the CPU table (host) and a CUDA table (device) ----
void check_matmul(const Ops& gpu, Precision prec) {
  const Ops& cpu = hg::cpu_ops();
  for (bool with_bias : {true, false}) {
    const int64_t N = 45, IC = 70, OC = 33;
    const Vec inp = randn(N * IC), w = randn(OC * IC), bias = randn(OC), dout = randn(N * OC);
    const Vec dw0 = randn(OC * IC), db0 = randn(OC);
    Vec out(N * OC), dinp(N * IC), dw = dw0, db = db0;
    cpu.matmul_forward(out.data(), inp.data(), w.data(), with_bias ? bias.data() : nullptr, N, IC, OC);
    cpu.matmul_backward(dinp.data(), dw.data(), with_bias ? db.data() : nullptr, dout.data(), inp.data(), w.data(), N, IC, OC);
    auto d_inp = dev(inp), d_w = dev(w), d_bias = dev(bias), d_dout = dev(dout), d_dw = dev(dw0), d_db = dev(db0);
    DeviceBuffer<float> d_out(out.size()), d_dinp(dinp.size());
    gpu.matmul_forward(d_out.get(), d_inp.get(), d_w.get(), with_bias ? d_bias.get() : nullptr, N, IC, OC);
    gpu.matmul_backward(d_dinp.get(), d_dw.get(), with_bias ? d_db.get() : nullptr, d_dout.get(), d_inp.get(), d_w.get(), N, IC, OC);
    const std::string tag = std::string("matmul ") + name_of(prec) + (with_bias ? " bias" : " no bias");
    compare(tag + " out", host(d_out), out, tolerance(prec, 2e-5));
    compare(tag + " dinp", host(d_dinp), dinp, tolerance(prec, 2e-5));
    compare(tag + " dw +=", host(d_dw), dw, tolerance(prec, 2e-5));
    compare(tag + " dbias +=", host(d_db), with_bias ? db : db0, 2e-5);  // a plain f32 sum in both tables
  }
}

void check_encoder(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  for (int64_t V : {7, 1000}) {  // V = 7: most tokens repeat, so the wte scatter must add buckets
    const int64_t B = 3, T = 11, C = 37, P = 13;
    const IVec tokens = randint(B * T, 0, static_cast<int32_t>(V));
    const Vec wte = randn(V * C), wpe = randn(P * C), dout = randn(B * T * C);
    const Vec dwte0 = randn(V * C), dwpe0 = randn(P * C);
    Vec out(B * T * C), dwte = dwte0, dwpe = dwpe0;
    cpu.encoder_forward(out.data(), tokens.data(), wte.data(), wpe.data(), B, T, C);
    cpu.encoder_backward(dwte.data(), dwpe.data(), dout.data(), tokens.data(), B, T, C);
    auto d_tok = dev(tokens);
    auto d_wte = dev(wte), d_wpe = dev(wpe), d_dout = dev(dout), d_dwte = dev(dwte0), d_dwpe = dev(dwpe0);
    DeviceBuffer<float> d_out(out.size());
    gpu.encoder_forward(d_out.get(), d_tok.get(), d_wte.get(), d_wpe.get(), B, T, C);
    gpu.encoder_backward(d_dwte.get(), d_dwpe.get(), d_dout.get(), d_tok.get(), B, T, C);
    const std::string tag = "encoder V=" + std::to_string(V);
    compare(tag + " out", host(d_out), out, 1e-6);
    compare(tag + " dwte +=", host(d_dwte), dwte, 1e-5);
    compare(tag + " dwpe +=", host(d_dwpe), dwpe, 1e-5);
    auto again = dev(dwte0), again_pe = dev(dwpe0);
    gpu.encoder_backward(again.get(), again_pe.get(), d_dout.get(), d_tok.get(), B, T, C);
    bitwise_equal(tag + " dwte", host(again), host(d_dwte));
  }
}

void check_layernorm(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  for (auto [N, C] : {std::pair<int64_t, int64_t>{1, 1}, {37, 77}, {5, 768}, {300, 33}}) {
    Vec inp = randn(N * C, 3.f);
    for (auto& x : inp) x += 5.f;  // a mean far from 0
    const Vec w = randn(C), b = randn(C), dout = randn(N * C);
    const Vec dinp0 = randn(N * C), dw0 = randn(C), db0 = randn(C);
    Vec out(N * C), mean(N), rstd(N), dinp = dinp0, dw = dw0, db = db0;
    cpu.layernorm_forward(out.data(), mean.data(), rstd.data(), inp.data(), w.data(), b.data(), N, C);
    cpu.layernorm_backward(dinp.data(), dw.data(), db.data(), dout.data(), inp.data(), w.data(), mean.data(), rstd.data(), N, C);
    auto d_inp = dev(inp), d_w = dev(w), d_b = dev(b), d_dout = dev(dout);
    auto d_dinp = dev(dinp0), d_dw = dev(dw0), d_db = dev(db0);
    DeviceBuffer<float> d_out(out.size()), d_mean(N), d_rstd(N);
    gpu.layernorm_forward(d_out.get(), d_mean.get(), d_rstd.get(), d_inp.get(), d_w.get(), d_b.get(), N, C);
    gpu.layernorm_backward(d_dinp.get(), d_dw.get(), d_db.get(), d_dout.get(), d_inp.get(), d_w.get(), d_mean.get(),
                           d_rstd.get(), N, C);
    const std::string tag = "layernorm N=" + std::to_string(N) + " C=" + std::to_string(C);
    compare(tag + " out", host(d_out), out, 1e-5);
    compare(tag + " mean", host(d_mean), mean, 1e-5);
    compare(tag + " rstd", host(d_rstd), rstd, 1e-5);
    compare(tag + " dinp +=", host(d_dinp), dinp, 2e-5);
    compare(tag + " dw +=", host(d_dw), dw, 2e-5);
    compare(tag + " db +=", host(d_db), db, 2e-5);
    auto again = dev(dw0), again_b = dev(db0), again_x = dev(dinp0);
    gpu.layernorm_backward(again_x.get(), again.get(), again_b.get(), d_dout.get(), d_inp.get(), d_w.get(),
                           d_mean.get(), d_rstd.get(), N, C);
    bitwise_equal(tag + " dw", host(again), host(d_dw));
  }
}

void check_heads(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  const int64_t B = 2, T = 5, H = 3, hs = 7, C = H * hs, n = B * T * C;
  const Vec qkv = randn(3 * n), gates = randn(H), o = randn(n), dy = randn(n);
  const Vec dq = randn(n), dk = randn(n), dv = randn(n);
  Vec q(n), k(n), v(n), dqkv(3 * n), y(n), dheads(n);
  cpu.split_heads(q.data(), k.data(), v.data(), qkv.data(), B, T, H, H, hs);
  cpu.split_heads_backward(dqkv.data(), dq.data(), dk.data(), dv.data(), gates.data(), B, T, H, H, hs);
  cpu.merge_heads(y.data(), o.data(), gates.data(), B, T, H, hs);
  cpu.merge_heads_backward(dheads.data(), dy.data(), B, T, H, hs);
  auto d_qkv = dev(qkv), d_gates = dev(gates), d_o = dev(o), d_dy = dev(dy), d_dq = dev(dq), d_dk = dev(dk), d_dv = dev(dv);
  DeviceBuffer<float> d_q(n), d_k(n), d_v(n), d_dqkv(3 * n), d_y(n), d_dheads(n);
  gpu.split_heads(d_q.get(), d_k.get(), d_v.get(), d_qkv.get(), B, T, H, H, hs);
  gpu.split_heads_backward(d_dqkv.get(), d_dq.get(), d_dk.get(), d_dv.get(), d_gates.get(), B, T, H, H, hs);
  gpu.merge_heads(d_y.get(), d_o.get(), d_gates.get(), B, T, H, hs);
  gpu.merge_heads_backward(d_dheads.get(), d_dy.get(), B, T, H, hs);
  compare("split_heads q", host(d_q), q, 0);
  compare("split_heads k", host(d_k), k, 0);
  compare("split_heads v", host(d_v), v, 0);
  compare("split_heads_backward", host(d_dqkv), dqkv, 0);
  compare("merge_heads", host(d_y), y, 0);
  compare("merge_heads_backward", host(d_dheads), dheads, 0);
}

void check_attention(const Ops& gpu, Precision prec) {
  const Ops& cpu = hg::cpu_ops();
  for (int64_t D : {64, 24}) {  // 24: the bf16 table falls back to the f32 kernels
    const hg::AttnShape s{2, 3, 37, D};
    const hg::AttnParams p{};
    const size_t n = static_cast<size_t>(s.numel()), rows = static_cast<size_t>(s.rows());
    const Vec q = randn(n), k = randn(n), v = randn(n), dout = randn(n);
    Vec out(n), lse(rows), dq(n), dk(n), dv(n), score(s.B * s.H);
    cpu.attention_forward(q.data(), k.data(), v.data(), out.data(), lse.data(), s, p);
    cpu.attention_backward(dout.data(), q.data(), k.data(), v.data(), out.data(), lse.data(), dq.data(), dk.data(),
                           dv.data(), score.data(), s, p);
    auto d_q = dev(q), d_k = dev(k), d_v = dev(v), d_dout = dev(dout);
    DeviceBuffer<float> d_out(n), d_lse(rows), d_dq(n), d_dk(n), d_dv(n), d_score(score.size());
    gpu.attention_forward(d_q.get(), d_k.get(), d_v.get(), d_out.get(), d_lse.get(), s, p);
    gpu.attention_backward(d_dout.get(), d_q.get(), d_k.get(), d_v.get(), d_out.get(), d_lse.get(), d_dq.get(),
                           d_dk.get(), d_dv.get(), d_score.get(), s, p);
    const double tol = prec == Precision::BF16 && D == 64 ? 3e-2 : 1e-4;
    const std::string tag = std::string("attention ") + name_of(prec) + " D=" + std::to_string(D);
    compare(tag + " out", host(d_out), out, tol);
    compare(tag + " lse", host(d_lse), lse, tol);
    compare(tag + " dq", host(d_dq), dq, tol);
    compare(tag + " dk", host(d_dk), dk, tol);
    compare(tag + " dv", host(d_dv), dv, tol);
    compare(tag + " head score", host(d_score), score, tol);
  }
}

// A prompt, then single tokens, as generate() runs it; the cache crosses the 128-key chunk size.
void check_decode(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  for (int64_t hs : {8, 200}) {
    const int64_t H = 2, P = 300, C = H * hs;
    const Vec gates = randn(H);
    Vec kc(H * P * hs, 0.f), vc(H * P * hs, 0.f);
    DeviceBuffer<float> d_kc(kc.size()), d_vc(vc.size());
    HG_CUDA_CHECK(cudaMemset(d_kc.get(), 0, d_kc.bytes()));
    HG_CUDA_CHECK(cudaMemset(d_vc.get(), 0, d_vc.bytes()));
    auto d_gates = dev(gates);
    int64_t pos = 0;
    for (int64_t n : {150, 1, 1, 20}) {
      const Vec qkv = randn(n * 3 * C);
      Vec out(n * C);
      cpu.attention_decode(out.data(), qkv.data(), kc.data(), vc.data(), gates.data(), n, pos, H, H, P, hs, 0, 0.f, 0.f);
      auto d_qkv = dev(qkv);
      DeviceBuffer<float> d_out(out.size());
      gpu.attention_decode(d_out.get(), d_qkv.get(), d_kc.get(), d_vc.get(), d_gates.get(), n, pos, H, H, P, hs, 0, 0.f, 0.f);
      const std::string tag = "attention_decode hs=" + std::to_string(hs) + " pos=" + std::to_string(pos) + " n=" + std::to_string(n);
      compare(tag + " out", host(d_out), out, 2e-5);
      pos += n;
    }
    compare("attention_decode hs=" + std::to_string(hs) + " kcache", host(d_kc), kc, 0);
    compare("attention_decode hs=" + std::to_string(hs) + " vcache", host(d_vc), vc, 0);
  }
}

// ---- the Llama-family ops: RMSNorm, RoPE, SwiGLU, the encoder without wpe ----
void check_llama_ops(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  for (auto [N, C] : {std::pair<int64_t, int64_t>{1, 1}, {37, 77}, {5, 768}}) {
    Vec inp = randn(N * C, 2.f);
    const Vec w = randn(C), dout = randn(N * C), dinp0 = randn(N * C), dw0 = randn(C);
    Vec out(N * C), rstd(N), dinp = dinp0, dw = dw0;
    cpu.rmsnorm_forward(out.data(), rstd.data(), inp.data(), w.data(), N, C, 1e-6f, 0.f);
    cpu.rmsnorm_backward(dinp.data(), dw.data(), dout.data(), inp.data(), w.data(), rstd.data(), N, C, 0.f);
    auto d_inp = dev(inp), d_w = dev(w), d_dout = dev(dout), d_dinp = dev(dinp0), d_dw = dev(dw0);
    DeviceBuffer<float> d_out(out.size()), d_rstd(N);
    gpu.rmsnorm_forward(d_out.get(), d_rstd.get(), d_inp.get(), d_w.get(), N, C, 1e-6f, 0.f);
    gpu.rmsnorm_backward(d_dinp.get(), d_dw.get(), d_dout.get(), d_inp.get(), d_w.get(), d_rstd.get(), N, C, 0.f);
    const std::string tag = "rmsnorm N=" + std::to_string(N) + " C=" + std::to_string(C);
    compare(tag + " out", host(d_out), out, 1e-5);
    compare(tag + " rstd", host(d_rstd), rstd, 1e-5);
    compare(tag + " dinp +=", host(d_dinp), dinp, 2e-5);
    compare(tag + " dw +=", host(d_dw), dw, 2e-5);
    auto again_x = dev(dinp0);  // dw null (scores-only backward): dinp only
    gpu.rmsnorm_backward(again_x.get(), nullptr, d_dout.get(), d_inp.get(), d_w.get(), d_rstd.get(), N, C, 0.f);
    compare(tag + " dinp += (no dw)", host(again_x), dinp, 2e-5);
  }
  {
    hg::GPTConfig c{50, 40, 1, 4, 64, 2};  // hs 16, q + k heads rotated, v heads untouched
    c.positions = hg::PosKind::Rope;
    c.rope_scaling = {hg::RopeScalingKind::Llama3, 8.0, 1.0, 4.0, 16};
    std::vector<float> cs, sn;
    hg::rope_tables(c, c.P, false, cs, sn);
    const int64_t hs = c.hs(), stride = c.qkv_rows(), heads = c.H + c.kv();
    auto d_cos = dev(cs), d_sin = dev(sn);
    for (auto [N, T, pos0] : {std::tuple<int64_t, int64_t, int64_t>{12, 6, 0}, {5, 5, 30}, {1, 1, 39}}) {
      const Vec x = randn(N * stride);
      Vec y = x, dx = x;
      cpu.rope_forward(y.data(), cs.data(), sn.data(), N, T, pos0, heads, stride, hs);
      cpu.rope_backward(dx.data(), cs.data(), sn.data(), N, T, pos0, heads, stride, hs);
      auto d_y = dev(x), d_dx = dev(x);
      gpu.rope_forward(d_y.get(), d_cos.get(), d_sin.get(), N, T, pos0, heads, stride, hs);
      gpu.rope_backward(d_dx.get(), d_cos.get(), d_sin.get(), N, T, pos0, heads, stride, hs);
      const std::string tag = "rope N=" + std::to_string(N) + " T=" + std::to_string(T) + " pos0=" + std::to_string(pos0);
      compare(tag + " forward", host(d_y), y, 1e-6);
      compare(tag + " backward", host(d_dx), dx, 1e-6);
    }
  }
  {
    const int64_t N = 33, F = 1001;
    const Vec inp = randn(N * 2 * F, 3.f), dout = randn(N * F);
    Vec out(N * F), dinp(N * 2 * F);
    cpu.swiglu_forward(out.data(), inp.data(), N, F);
    cpu.swiglu_backward(dinp.data(), inp.data(), dout.data(), N, F);
    auto d_inp = dev(inp), d_dout = dev(dout);
    DeviceBuffer<float> d_out(out.size()), d_dinp(dinp.size());
    gpu.swiglu_forward(d_out.get(), d_inp.get(), N, F);
    gpu.swiglu_backward(d_dinp.get(), d_inp.get(), d_dout.get(), N, F);
    compare("swiglu forward", host(d_out), out, 1e-5);
    compare("swiglu backward", host(d_dinp), dinp, 1e-5);
  }
  {  // no learned positions: wpe and dwpe null
    const int64_t B = 2, T = 9, C = 37, V = 11;
    const IVec tokens = randint(B * T, 0, V);
    const Vec wte = randn(V * C), dout = randn(B * T * C), dwte0 = randn(V * C);
    Vec out(B * T * C), dwte = dwte0;
    cpu.encoder_forward(out.data(), tokens.data(), wte.data(), nullptr, B, T, C);
    cpu.encoder_backward(dwte.data(), nullptr, dout.data(), tokens.data(), B, T, C);
    auto d_tok = dev(tokens);
    auto d_wte = dev(wte), d_dout = dev(dout), d_dwte = dev(dwte0);
    DeviceBuffer<float> d_out(out.size());
    gpu.encoder_forward(d_out.get(), d_tok.get(), d_wte.get(), nullptr, B, T, C);
    gpu.encoder_backward(d_dwte.get(), nullptr, d_dout.get(), d_tok.get(), B, T, C);
    compare("encoder without wpe out", host(d_out), out, 0);
    compare("encoder without wpe dwte +=", host(d_dwte), dwte, 1e-5);
  }
}

// Grouped-query heads: q [B,H,T,hs], k/v [B,KV,T,hs]; split_heads_backward without gates.
void check_heads_gqa(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  const int64_t B = 2, T = 5, H = 6, KV = 2, hs = 7, QKV = (H + 2 * KV) * hs, nq = B * T * H * hs, nkv = B * T * KV * hs;
  const Vec qkv = randn(B * T * QKV), dq = randn(nq), dk = randn(nkv), dv = randn(nkv);
  Vec q(nq), k(nkv), v(nkv), dqkv(B * T * QKV);
  cpu.split_heads(q.data(), k.data(), v.data(), qkv.data(), B, T, H, KV, hs);
  cpu.split_heads_backward(dqkv.data(), dq.data(), dk.data(), dv.data(), nullptr, B, T, H, KV, hs);
  auto d_qkv = dev(qkv), d_dq = dev(dq), d_dk = dev(dk), d_dv = dev(dv);
  DeviceBuffer<float> d_q(nq), d_k(nkv), d_v(nkv), d_dqkv(dqkv.size());
  gpu.split_heads(d_q.get(), d_k.get(), d_v.get(), d_qkv.get(), B, T, H, KV, hs);
  gpu.split_heads_backward(d_dqkv.get(), d_dq.get(), d_dk.get(), d_dv.get(), nullptr, B, T, H, KV, hs);
  compare("split_heads GQA q", host(d_q), q, 0);
  compare("split_heads GQA k", host(d_k), k, 0);
  compare("split_heads GQA v", host(d_v), v, 0);
  compare("split_heads_backward GQA", host(d_dqkv), dqkv, 0);
}

// Grouped-query attention with per-head gains in the backward, f32 and bf16 (D 64: tensor cores).
void check_attention_gqa(const Ops& gpu, Precision prec) {
  const Ops& cpu = hg::cpu_ops();
  for (int64_t D : {64, 24}) {
    for (int64_t KV : {2, 1}) {
      const hg::AttnShape s{2, 4, 70, D, KV};
      const Vec gains = randn(s.H);
      auto d_gains = dev(gains);
      hg::AttnParams pc{}, pg{};
      pc.gains = gains.data();
      pg.gains = d_gains.get();
      const size_t n = static_cast<size_t>(s.numel()), nkv = static_cast<size_t>(s.kv_numel()),
                   rows = static_cast<size_t>(s.rows());
      const Vec q = randn(n), k = randn(nkv), v = randn(nkv), dout = randn(n);
      Vec out(n), lse(rows), dq(n), dk(nkv), dv(nkv), score(s.B * s.H);
      cpu.attention_forward(q.data(), k.data(), v.data(), out.data(), lse.data(), s, pc);
      cpu.attention_backward(dout.data(), q.data(), k.data(), v.data(), out.data(), lse.data(), dq.data(), dk.data(),
                             dv.data(), score.data(), s, pc);
      auto d_q = dev(q), d_k = dev(k), d_v = dev(v), d_dout = dev(dout);
      DeviceBuffer<float> d_out(n), d_lse(rows), d_dq(n), d_dk(nkv), d_dv(nkv), d_score(score.size());
      gpu.attention_forward(d_q.get(), d_k.get(), d_v.get(), d_out.get(), d_lse.get(), s, pg);
      gpu.attention_backward(d_dout.get(), d_q.get(), d_k.get(), d_v.get(), d_out.get(), d_lse.get(), d_dq.get(),
                             d_dk.get(), d_dv.get(), d_score.get(), s, pg);
      const double tol = prec == Precision::BF16 && D == 64 ? 3e-2 : 1e-4;
      const std::string tag = std::string("attention GQA ") + name_of(prec) + " D=" + std::to_string(D) + " H=4 KV=" +
                              std::to_string(KV) + " gains";
      compare(tag + " out", host(d_out), out, tol);
      compare(tag + " lse", host(d_lse), lse, tol);
      compare(tag + " dq", host(d_dq), dq, tol);
      compare(tag + " dk", host(d_dk), dk, tol);
      compare(tag + " dv", host(d_dv), dv, tol);
      compare(tag + " head score", host(d_score), score, tol);
      DeviceBuffer<float> d_dk2(nkv), d_dv2(nkv), d_dq2(n);
      gpu.attention_backward(d_dout.get(), d_q.get(), d_k.get(), d_v.get(), d_out.get(), d_lse.get(), d_dq2.get(),
                             d_dk2.get(), d_dv2.get(), nullptr, s, pg);
      bitwise_equal(tag + " dk", host(d_dk2), host(d_dk));
      bitwise_equal(tag + " dv", host(d_dv2), host(d_dv));
    }
  }
}

void check_decode_gqa(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  const int64_t H = 6, KV = 2, hs = 16, P = 200, C = H * hs, QKV = (H + 2 * KV) * hs;
  const Vec gates = randn(H);
  Vec kc(KV * P * hs, 0.f), vc(KV * P * hs, 0.f);
  DeviceBuffer<float> d_kc(kc.size()), d_vc(vc.size());
  HG_CUDA_CHECK(cudaMemset(d_kc.get(), 0, d_kc.bytes()));
  HG_CUDA_CHECK(cudaMemset(d_vc.get(), 0, d_vc.bytes()));
  auto d_gates = dev(gates);
  int64_t pos = 0;
  for (int64_t n : {150, 1, 1, 20}) {
    const Vec qkv = randn(n * QKV);
    Vec out(n * C);
    cpu.attention_decode(out.data(), qkv.data(), kc.data(), vc.data(), gates.data(), n, pos, H, KV, P, hs, 0, 0.f, 0.f);
    auto d_qkv = dev(qkv);
    DeviceBuffer<float> d_out(out.size());
    gpu.attention_decode(d_out.get(), d_qkv.get(), d_kc.get(), d_vc.get(), d_gates.get(), n, pos, H, KV, P, hs, 0, 0.f, 0.f);
    compare("attention_decode GQA pos=" + std::to_string(pos) + " n=" + std::to_string(n) + " out", host(d_out), out, 2e-5);
    pos += n;
  }
  compare("attention_decode GQA kcache", host(d_kc), kc, 0);
  compare("attention_decode GQA vcache", host(d_vc), vc, 0);
}

void check_pointwise(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  const int64_t n = 100003;
  const Vec a = randn(n, 3.f), b = randn(n), dout = randn(n);
  Vec sum(n), g(n), dg = dout;
  cpu.residual_forward(sum.data(), a.data(), b.data(), n);
  cpu.gelu_forward(g.data(), a.data(), n);
  cpu.gelu_backward(dg.data(), a.data(), dg.data(), n);  // in place, as the engine calls it
  auto d_a = dev(a), d_b = dev(b), d_dg = dev(dout);
  DeviceBuffer<float> d_g(n);
  gpu.gelu_forward(d_g.get(), d_a.get(), n);
  gpu.gelu_backward(d_dg.get(), d_a.get(), d_dg.get(), n);
  gpu.residual_forward(d_a.get(), d_a.get(), d_b.get(), n);  // in place, as decode calls it
  compare("residual (in place)", host(d_a), sum, 0);
  compare("gelu forward", host(d_g), g, 1e-5);
  compare("gelu backward (in place)", host(d_dg), dg, 1e-5);
}

void check_crossentropy(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  for (int64_t V : {1, 1000, 50257}) {
    const int64_t N = 7;
    const Vec logits = randn(N * V, 4.f), weights = randn(N);
    IVec targets = randint(N, 0, static_cast<int32_t>(V));
    targets[2] = -1;  // a position without a target
    Vec probs = logits, losses(N);
    cpu.softmax_crossentropy_forward(probs.data(), losses.data(), targets.data(), N, V);
    const Vec p_fwd = probs;
    cpu.softmax_crossentropy_backward(probs.data(), targets.data(), weights.data(), N, V);
    auto d_p = dev(logits), d_w = dev(weights);
    auto d_t = dev(targets);
    DeviceBuffer<float> d_losses(N);
    gpu.softmax_crossentropy_forward(d_p.get(), d_losses.get(), d_t.get(), N, V);
    const std::string tag = "crossentropy V=" + std::to_string(V);
    compare(tag + " probs", host(d_p), p_fwd, 1e-5);
    compare(tag + " losses", host(d_losses), losses, 1e-5);
    gpu.softmax_crossentropy_backward(d_p.get(), d_t.get(), d_w.get(), N, V);
    compare(tag + " dlogits", host(d_p), probs, 1e-5);
  }
}

void check_optimizer(const Ops& gpu) {
  const Ops& cpu = hg::cpu_ops();
  const int64_t n = 100000;
  // Gaps between spans stay untouched; one span longer than a chunk; decay on some.
  const std::vector<hg::ParamSpan> spans = {{0, 10, false}, {64, 40000, true}, {40064, 7, false}, {50000, 49999, true}};
  const Vec grads = randn(n);
  Vec params = randn(n), m(n, 0.f), v(n, 0.f);
  auto d_g = dev(grads), d_p = dev(params), d_m = dev(m), d_v = dev(v);
  const double want_ss = cpu.sum_squares(grads.data(), spans.data(), 4);
  const double got_ss = gpu.sum_squares(d_g.get(), spans.data(), 4);
  std::printf("  %-58s rel err %.2e (tol 1e-12)\n", "sum_squares", std::fabs(got_ss - want_ss) / want_ss);
  expect(std::fabs(got_ss - want_ss) <= 1e-12 * want_ss, "sum_squares: " + std::to_string(got_ss) + " vs " + std::to_string(want_ss));
  expect(gpu.sum_squares(d_g.get(), spans.data(), 4) == got_ss, "sum_squares: two runs differ");
  for (int64_t t = 1; t <= 2; ++t) {
    const hg::AdamWParams hp{1e-2f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.5f, t};
    cpu.adamw(params.data(), grads.data(), m.data(), v.data(), spans.data(), 4, hp);
    gpu.adamw(d_p.get(), d_g.get(), d_m.get(), d_v.get(), spans.data(), 4, hp);
  }
  compare("adamw params (2 steps)", host(d_p), params, 1e-5);
  compare("adamw m", host(d_m), m, 1e-5);
  compare("adamw v", host(d_v), v, 1e-5);
}

// Memory errors name the size and leave the device usable.
void check_memory_errors(const Ops& gpu) {
  std::string msg;
  try {
    gpu.alloc(int64_t{1} << 50);
  } catch (const std::exception& e) {
    msg = e.what();
  }
  std::printf("  1 PiB alloc -> %s\n", msg.c_str());
  expect(msg.find("could not allocate") != std::string::npos && msg.find("bytes") != std::string::npos,
         "a failed allocation names its size");
  void* p = gpu.alloc(1000);
  Vec zeros(250, 1.f);
  gpu.download(zeros.data(), p, 1000);
  expect(std::all_of(zeros.begin(), zeros.end(), [](float x) { return x == 0.f; }), "alloc returns zeroed memory");
  gpu.release(p);
}

// The switches of docs/families.md have no CUDA kernels and no GPU tests yet: the engine refuses
// them on CUDA when the model is created, naming the switch.
void check_refuses_family_switches() {
  hg::GPTConfig base{97, 40, 1, 4, 64, 2, 96};
  base.norm = hg::NormKind::RMSNorm;
  base.norm_eps = 1e-6;
  base.positions = hg::PosKind::Rope;
  base.mlp = hg::MlpKind::SwiGLU;
  auto refuses = [](const hg::GPTConfig& c, const std::string& needle) {
    std::string msg;
    try {
      hg::GPT g(c, hg::cuda_ops(Precision::F32), 1);
    } catch (const std::exception& e) {
      msg = e.what();
    }
    expect(msg.find(needle) != std::string::npos, "CUDA refuses " + needle + " (got '" + msg + "')");
  };
  // each switch on its own, with the name the refusal must give
  const std::pair<std::function<void(hg::GPTConfig&)>, const char*> switches[] = {
      {[](hg::GPTConfig& c) { c.qk_norm = hg::QkNormKind::Head; }, "config.qkNorm"},
      {[](hg::GPTConfig& c) { c.D = 32; }, "config.headDim"},
      {[](hg::GPTConfig& c) { c.norm_place = hg::NormPlacement::Post; }, "config.normPlacement"},
      {[](hg::GPTConfig& c) { c.window = 8; }, "config.slidingWindow"},
      // Gemma's
      {[](hg::GPTConfig& c) { c.mlp = hg::MlpKind::GeGLU; }, "mlp 'geglu'"},
      {[](hg::GPTConfig& c) { c.norm_w_offset = 1; }, "config.normWeightOffset"},
      {[](hg::GPTConfig& c) { c.embed_scale = 2; }, "config.embedScale"},
      {[](hg::GPTConfig& c) { c.attn_softcap = 50; }, "config.attnSoftcap"},
      {[](hg::GPTConfig& c) { c.final_softcap = 30; }, "config.finalSoftcap"},
      {[](hg::GPTConfig& c) { c.query_scale = 256; }, "config.queryScale"},
      // all global: valid without a window
      {[](hg::GPTConfig& c) { c.local_layers.assign(static_cast<size_t>(c.L), false); }, "config.layerTypes"},
      {[](hg::GPTConfig& c) { c.rope_local_theta = 10000; }, "config.ropeLocalTheta"},
      // Phi-3 128k's (hs 16: eight factors per list)
      {[](hg::GPTConfig& c) {
         c.rope_scaling.type = hg::RopeScalingKind::LongRope;
         c.rope_scaling.short_factor.assign(8, 1.0);
         c.rope_scaling.long_factor.assign(8, 4.0);
         c.rope_scaling.original_max_positions = 16;
         c.rope_scaling.attention_factor = 1.1;
       },
       "config.ropeScaling 'longrope'"},
  };
  for (const auto& [set, name] : switches) {
    hg::GPTConfig c = base;
    set(c);
    refuses(c, name);
  }
}

// The whole engine: same seed, same batch on the CPU table and a CUDA table, three AdamW steps.
void check_engine(Precision prec, const hg::GPTConfig& cfg, const std::string& name) {
  hg::GPT cpu(cfg, hg::cpu_ops(), 7), gpu(cfg, hg::cuda_ops(prec), 7);
  const int64_t B = 3, T = 33, N = B * T;
  const IVec tokens = randint(N, 0, 97), targets = randint(N, 0, 97);
  const double tol = prec == Precision::BF16 ? 2e-2 : 1e-4;
  for (int step = 0; step < 3; ++step) {
    const double lc = cpu.forward(tokens.data(), targets.data(), nullptr, B, T, nullptr);
    const double lg = gpu.forward(tokens.data(), targets.data(), nullptr, B, T, nullptr);
    Vec sc(cfg.L * B * cfg.H), sg(sc.size());
    cpu.backward(sc.data());
    gpu.backward(sg.data());
    const std::string tag = std::string("engine ") + name + " " + name_of(prec) + " step " + std::to_string(step);
    std::printf("  %-58s loss cpu %.6f cuda %.6f\n", tag.c_str(), lc, lg);
    expect(std::fabs(lc - lg) <= tol * std::fabs(lc), tag + ": loss differs");
    // bf16: only step 0 has identical weights on both sides; after an AdamW step they differ by
    // up to ±lr per parameter (see the parameter check below), so later head scores drift with
    // the seed (0.12 seen once on an H200) and only the loss is held to a bound there.
    if (prec == Precision::F32 || step == 0) compare(tag + " head scores", sg, sc, prec == Precision::BF16 ? 1e-1 : 1e-3);
    hg::StepOptions o;
    o.lr = 1e-2f;
    o.weight_decay = 0.1f;
    o.grad_clip = 1.f;
    cpu.step(o);
    gpu.step(o);
  }
  {  // T = 1: every tile is a partial one
    const IVec x = randint(2, 0, 97), y = randint(2, 0, 97);
    const double lc = cpu.forward(x.data(), y.data(), nullptr, 2, 1, nullptr);
    const double lg = gpu.forward(x.data(), y.data(), nullptr, 2, 1, nullptr);
    expect(std::fabs(lc - lg) <= tol * std::fabs(lc), std::string("engine ") + name + " " + name_of(prec) + " T=1: loss differs");
    Vec sc(cfg.L * 2 * cfg.H), sg(sc.size());
    cpu.backward(sc.data());
    gpu.backward(sg.data());
    if (prec == Precision::F32) compare("engine " + name + " f32 T=1 head scores", sg, sc, 1e-3);
  }
  Vec pc(cpu.num_params()), pg(pc.size());
  cpu.export_parameters(pc.data());
  gpu.export_parameters(pg.data());
  // Adam turns a gradient near its rounding noise into a full ±lr step, so with bf16 operands a
  // parameter whose gradient changes sign between the two runs can differ by up to 2·lr per
  // step: after 3 steps at lr = 1e-2 that bound is 6e-2 (seen on an H200: 3.0e-2). The losses
  // and head scores above are the tight bf16 checks; this one catches a broken update. The
  // tolerance is relative to the largest parameter (~1).
  compare(std::string("engine ") + name + " " + name_of(prec) + " parameters after 3 steps", pg, pc,
          prec == Precision::BF16 ? 6e-2 : 3e-3);
  // greedy generation through the KV cache (f32: the same tokens)
  if (prec == Precision::F32) {
    const std::vector<int32_t> prompt = {1, 5, 9};
    expect(cpu.generate(prompt, 12, -1) == gpu.generate(prompt, 12, -1), "engine " + name + " f32: generate differs");
  }
}

// GPT-2 (the original check), a Llama-3-style model (RMSNorm, RoPE with llama3 scaling, SwiGLU,
// GQA 4/2, no biases, untied head) and a Qwen2-style one (q/k/v biases, GQA 4/1, tied).
void check_engines(Precision prec) {
  check_engine(prec, hg::GPTConfig{97, 40, 2, 4, 64}, "gpt2");  // V, P, L, H, C: hs = 16
  hg::GPTConfig llama{97, 40, 2, 4, 64, 2, 96};
  llama.norm = hg::NormKind::RMSNorm;
  llama.positions = hg::PosKind::Rope;
  llama.rope_theta = 500000;
  llama.rope_scaling = {hg::RopeScalingKind::Llama3, 8.0, 1.0, 4.0, 16};
  llama.mlp = hg::MlpKind::SwiGLU;
  llama.qkv_bias = llama.linear_bias = llama.tied = false;
  check_engine(prec, llama, "llama3");
  hg::GPTConfig qwen = llama;
  qwen.KV = 1;
  qwen.rope_scaling = {};
  qwen.rope_theta = 1e6;
  qwen.norm_eps = 1e-6;
  qwen.qkv_bias = qwen.tied = true;
  check_engine(prec, qwen, "qwen2");
}

}  // namespace

int main() {
  const hg::cuda::Availability avail = hg::cuda::query();
  if (!avail.available) {
    std::printf("test_engine_cuda: skipped: no GPU (%s)\n", avail.reason.c_str());
    return 77;  // ctest SKIP_RETURN_CODE
  }
  const uint64_t seed = hgtest::seed_from_env();
  std::printf("test_engine_cuda on %s, seed %llu (HEADGRAD_TEST_SEED to repeat)\n", avail.devices[0].name.c_str(),
              static_cast<unsigned long long>(seed));
  rng.seed(seed);
  try {
    const Ops& f32 = hg::cuda_ops(Precision::F32);
    for (Precision prec : {Precision::F32, Precision::BF16}) {
      check_gemm(prec);
      check_matmul(hg::cuda_ops(prec), prec);
      check_attention(hg::cuda_ops(prec), prec);
      check_attention_gqa(hg::cuda_ops(prec), prec);
    }
    check_encoder(f32);
    check_layernorm(f32);
    check_heads(f32);
    check_heads_gqa(f32);
    check_decode(f32);
    check_decode_gqa(f32);
    check_llama_ops(f32);
    check_pointwise(f32);
    check_crossentropy(f32);
    check_optimizer(f32);
    check_memory_errors(f32);
    for (Precision prec : {Precision::F32, Precision::BF16}) check_engines(prec);
    check_refuses_family_switches();
  } catch (const std::exception& e) {
    expect(false, std::string("unexpected exception: ") + e.what());
  }
  std::printf("test_engine_cuda: %s (%d failure%s)\n", failures() ? "FAILED" : "passed", failures(), failures() == 1 ? "" : "s");
  return failures() ? 1 : 0;
}

#endif  // HEADGRAD_WITH_CUDA
