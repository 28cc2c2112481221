// The CUDA attention against a float64 reference (ctest). Needs a GPU: without one (or without
// the CUDA backend in this build) it prints "skipped: ..." and exits with 77, which ctest
// reports as skipped (SKIP_RETURN_CODE in CMakeLists.txt).
//
// Every case runs on fresh random inputs (seed printed; HEADGRAD_TEST_SEED=n repeats a run) and
// checks, for f32 and bf16: out, lse, dq, dk, dv and head_score against the reference; that every
// output element was written (outputs are poisoned with NaN first); that out, lse, dk, dv and
// head_score are bitwise identical across two runs; that capture off changes nothing else.
// Error measure: max|x − ref| / max(max|ref|, 1) per tensor (inputs are unit normal, so 1 is
// their natural scale; the floor keeps all-zero references such as dq at T=1 meaningful).
// Bounds: 1e-5 for the f32 path; 1e-2 for the bf16 tensor-core path, against the reference on
// the bf16-rounded inputs the kernels compute with (rounding the inputs is the caller's choice
// of precision; what is tested is the kernels' own error: bf16 P and dS, f32 accumulation).
#include <cstdio>

constexpr int kSkipped = 77;

#ifndef HEADGRAD_WITH_CUDA
int main() {
  std::printf("test_attention_cuda: skipped: this build has no CUDA backend\n");
  return kSkipped;
}
#else

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/attention.h"
#include "core/cuda_api.h"
#include "cuda/attention.cuh"
#include "cuda/device_buffer.cuh"

using hg::AttnParams;
using hg::AttnShape;
using hg::cuda::DeviceBuffer;
using hg::cuda::Precision;
using Vec = std::vector<float>;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

struct Inputs {
  Vec q, k, v, dout;
};

Inputs random_inputs(const AttnShape& s, std::mt19937_64& rng) {
  std::normal_distribution<float> n01(0.f, 1.f);
  auto fill = [&] {
    Vec x(static_cast<size_t>(s.numel()));
    for (auto& e : x) e = n01(rng);
    return x;
  };
  Inputs in;
  in.q = fill();
  in.k = fill();
  in.v = fill();
  in.dout = fill();
  return in;
}

// Round to the nearest bf16 (ties to even), as the device conversion does; inputs are finite.
float round_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
  std::memcpy(&x, &u, 4);
  return x;
}

Inputs rounded_bf16(Inputs in) {
  for (Vec* x : {&in.q, &in.k, &in.v, &in.dout})
    for (float& e : *x) e = round_bf16(e);
  return in;
}

struct Grads {
  std::vector<double> out, lse, dq, dk, dv;
};

// Straight from core/attention.h, in float64, one (batch, head) at a time, full T×T matrices.
Grads reference(const Inputs& in, const AttnShape& s, const AttnParams& p) {
  const int64_t T = s.T, D = s.D;
  const double scale = hg::effective_scale(s, p);
  const size_t n = static_cast<size_t>(s.numel());
  Grads r{std::vector<double>(n), std::vector<double>(static_cast<size_t>(s.rows())), std::vector<double>(n),
          std::vector<double>(n), std::vector<double>(n)};
  std::vector<double> P(T * T), dS(T * T), Dv(T);
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t o = bh * T * D;
    auto at = [&](const Vec& x, int64_t t, int64_t d) { return static_cast<double>(x[o + t * D + d]); };
    for (int64_t i = 0; i < T; ++i) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < T; ++j) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += at(in.q, i, d) * at(in.k, j, d);
        P[i * T + j] = (p.causal && j > i) ? -INFINITY : scale * dot;
        mx = std::max(mx, P[i * T + j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < T; ++j) sum += std::exp(P[i * T + j] - mx);
      for (int64_t j = 0; j < T; ++j) P[i * T + j] = std::exp(P[i * T + j] - mx) / sum;
      r.lse[bh * T + i] = mx + std::log(sum);
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < T; ++j) acc += P[i * T + j] * at(in.v, j, d);
        r.out[o + i * D + d] = acc;
      }
      Dv[i] = 0;
      for (int64_t d = 0; d < D; ++d) Dv[i] += at(in.dout, i, d) * r.out[o + i * D + d];
    }
    for (int64_t i = 0; i < T; ++i)
      for (int64_t j = 0; j < T; ++j) {
        double dp = 0;
        for (int64_t d = 0; d < D; ++d) dp += at(in.dout, i, d) * at(in.v, j, d);
        dS[i * T + j] = P[i * T + j] * (dp - Dv[i]);
      }
    for (int64_t t = 0; t < T; ++t)
      for (int64_t d = 0; d < D; ++d) {
        double dq = 0, dk = 0, dv = 0;
        for (int64_t u = 0; u < T; ++u) {
          dq += dS[t * T + u] * at(in.k, u, d);
          dk += dS[u * T + t] * at(in.q, u, d);
          dv += P[u * T + t] * at(in.dout, u, d);
        }
        r.dq[o + t * D + d] = scale * dq;
        r.dk[o + t * D + d] = scale * dk;
        r.dv[o + t * D + d] = dv;
      }
  }
  return r;
}

// head_score by its definition, Σ_t Σ_d dout·out, for the out that the backward was given.
std::vector<double> reference_score(const Vec& dout, const Vec& out, const AttnShape& s) {
  std::vector<double> score(static_cast<size_t>(s.B * s.H), 0.0);
  const int64_t per_head = s.T * s.D;
  for (size_t bh = 0; bh < score.size(); ++bh)
    for (int64_t e = 0; e < per_head; ++e) score[bh] += static_cast<double>(dout[bh * per_head + e]) * out[bh * per_head + e];
  return score;
}

double rel_err(const Vec& x, const std::vector<double>& ref) {
  double err = 0, scale = 1;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(x[i])) return INFINITY;
    err = std::max(err, std::abs(x[i] - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return err / scale;
}

bool all_finite(const Vec& x) {
  return std::all_of(x.begin(), x.end(), [](float e) { return std::isfinite(e); });
}

// Device copies of a case's tensors; outputs are poisoned with NaN (all bits set) so that an
// element the kernels never wrote cannot pass as a number.
struct DeviceCase {
  DeviceBuffer<float> q, k, v, dout, out, lse, dq, dk, dv, score;
  DeviceBuffer<unsigned char> ws;
  DeviceCase(const Inputs& in, const AttnShape& s, Precision prec)
      : q(in.q.size()), k(in.k.size()), v(in.v.size()), dout(in.dout.size()), out(in.q.size()),
        lse(static_cast<size_t>(s.rows())), dq(in.q.size()), dk(in.q.size()), dv(in.q.size()),
        score(static_cast<size_t>(s.B * s.H)),
        ws(std::max(hg::cuda::attention::forward_workspace_bytes(s, prec),
                    hg::cuda::attention::backward_workspace_bytes(s, prec))) {
    put(q, in.q);
    put(k, in.k);
    put(v, in.v);
    put(dout, in.dout);
    for (auto* b : {&out, &lse, &dq, &dk, &dv, &score}) HG_CUDA_CHECK(cudaMemset(b->get(), 0xFF, b->bytes()));
  }
  static void put(DeviceBuffer<float>& b, const Vec& x) {
    HG_CUDA_CHECK(cudaMemcpy(b.get(), x.data(), b.bytes(), cudaMemcpyHostToDevice));
  }
  static Vec get(const DeviceBuffer<float>& b) {
    Vec x(b.size());
    HG_CUDA_CHECK(cudaMemcpy(x.data(), b.get(), b.bytes(), cudaMemcpyDeviceToHost));
    return x;
  }
};

struct Outputs {
  Vec out, lse, dq, dk, dv, score;
};

Outputs run(DeviceCase& c, const AttnShape& s, const AttnParams& p, Precision prec, bool capture) {
  namespace att = hg::cuda::attention;
  att::forward(c.q.get(), c.k.get(), c.v.get(), c.out.get(), c.lse.get(), s, p, prec, c.ws.get(), nullptr);
  att::backward(c.dout.get(), c.q.get(), c.k.get(), c.v.get(), c.out.get(), c.lse.get(), c.dq.get(), c.dk.get(),
                c.dv.get(), capture ? c.score.get() : nullptr, s, p, prec, c.ws.get(), nullptr);
  HG_CUDA_CHECK(cudaDeviceSynchronize());
  Outputs o{DeviceCase::get(c.out), DeviceCase::get(c.lse), DeviceCase::get(c.dq), DeviceCase::get(c.dk),
            DeviceCase::get(c.dv), DeviceCase::get(c.score)};
  return o;
}

bool same_bits(const Vec& a, const Vec& b) { return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0; }

std::string describe(const AttnShape& s, const AttnParams& p, Precision prec) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s B=%lld H=%lld T=%lld D=%lld %s scale=%g", prec == Precision::F32 ? "f32 " : "bf16",
                (long long)s.B, (long long)s.H, (long long)s.T, (long long)s.D, p.causal ? "causal" : "full  ", p.scale);
  return buf;
}

void check_case(const AttnShape& s, const AttnParams& p, Precision prec, std::mt19937_64& rng) {
  const std::string name = describe(s, p, prec);
  const Inputs in = random_inputs(s, rng);
  // Shapes without a tensor-core kernel fall back to the f32 path and are held to its bound.
  const bool tensor_cores = hg::cuda::attention::uses_tensor_cores(s, prec);
  const Grads ref = reference(tensor_cores ? rounded_bf16(in) : in, s, p);
  const double tol = tensor_cores ? 1e-2 : 1e-5;

  DeviceCase c(in, s, prec);
  const Outputs a = run(c, s, p, prec, true);
  for (const Vec* x : {&a.out, &a.lse, &a.dq, &a.dk, &a.dv, &a.score})
    expect(all_finite(*x), name + ": an output element was not written (NaN poison left)");
  const double e_out = rel_err(a.out, ref.out), e_lse = rel_err(a.lse, ref.lse), e_dq = rel_err(a.dq, ref.dq),
               e_dk = rel_err(a.dk, ref.dk), e_dv = rel_err(a.dv, ref.dv),
               e_score = rel_err(a.score, reference_score(in.dout, a.out, s));
  std::printf("%s  err out %.1e lse %.1e dq %.1e dk %.1e dv %.1e score %.1e\n", name.c_str(), e_out, e_lse, e_dq,
              e_dk, e_dv, e_score);
  expect(e_out <= tol && e_lse <= tol, name + ": forward error above " + std::to_string(tol));
  expect(e_dq <= tol && e_dk <= tol && e_dv <= tol, name + ": backward error above " + std::to_string(tol));
  expect(e_score <= 1e-5, name + ": head_score differs from sum(dout * out)");

  const Outputs b = run(c, s, p, prec, false);
  expect(same_bits(a.out, b.out) && same_bits(a.lse, b.lse), name + ": forward not bitwise reproducible");
  expect(same_bits(a.dk, b.dk) && same_bits(a.dv, b.dv), name + ": dk/dv changed between runs (capture on, off)");
  expect(rel_err(b.dq, ref.dq) <= tol, name + ": dq with capture off");

  const Outputs again = run(c, s, p, prec, true);
  expect(same_bits(a.score, again.score), name + ": head_score not bitwise reproducible");
}

// The host-buffer API of core/cuda_api.h: copies, the shape check and the error paths.
void check_host_api(Precision prec, std::mt19937_64& rng) {
  const AttnShape s{1, 2, 33, 64};
  const AttnParams p{true, 0.f};
  const Inputs in = random_inputs(s, rng);
  const Grads ref = reference(prec == Precision::BF16 ? rounded_bf16(in) : in, s, p);
  const double tol = prec == Precision::BF16 ? 1e-2 : 1e-5;
  Vec out(in.q.size()), lse(static_cast<size_t>(s.rows())), dq(out.size()), dk(out.size()), dv(out.size()),
      score(static_cast<size_t>(s.B * s.H));
  hg::cuda::attention_forward_host(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), s, p, prec);
  hg::cuda::attention_backward_host(in.dout.data(), in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(),
                                    dq.data(), dk.data(), dv.data(), score.data(), s, p, prec);
  const double e = std::max({rel_err(out, ref.out), rel_err(lse, ref.lse), rel_err(dq, ref.dq), rel_err(dk, ref.dk),
                             rel_err(dv, ref.dv), rel_err(score, reference_score(in.dout, out, s))});
  std::printf("host API %s  max err %.1e\n", prec == Precision::F32 ? "f32 " : "bf16", e);
  expect(e <= tol, "host API: error above tolerance");
}

// Returns the message of the hg::Error that fn throws ("" if none).
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const hg::Error& e) {
    return e.what();
  }
  return "";
}

void check_errors() {
  float dummy[4] = {};
  // ~16 TiB per tensor: the allocation must fail with the size named, before any host read.
  const std::string oom = error_of([&] {
    hg::cuda::attention_forward_host(dummy, dummy, dummy, dummy, dummy, AttnShape{1024, 1024, 65536, 64},
                                     AttnParams{}, Precision::F32);
  });
  std::printf("huge shape -> %s\n", oom.c_str());
  expect(oom.find("could not allocate") != std::string::npos && oom.find("bytes") != std::string::npos,
         "allocation failure names the size");
  const std::string bad_d = error_of([&] {
    hg::cuda::attention_forward_host(dummy, dummy, dummy, dummy, dummy, AttnShape{1, 1, 1, 300}, AttnParams{},
                                     Precision::F32);
  });
  expect(bad_d.find("headDim") != std::string::npos, "headDim > 256 is refused: " + bad_d);
}

}  // namespace

int main() {
  const hg::cuda::Availability avail = hg::cuda::query();
  if (!avail.available) {
    std::printf("test_attention_cuda: skipped: no GPU (%s)\n", avail.reason.c_str());
    return kSkipped;
  }
  const char* env_seed = std::getenv("HEADGRAD_TEST_SEED");
  const uint64_t seed = env_seed ? std::strtoull(env_seed, nullptr, 10) : std::random_device{}();
  std::printf("test_attention_cuda on %s, seed %llu (HEADGRAD_TEST_SEED to repeat)\n", avail.devices[0].name.c_str(),
              (unsigned long long)seed);
  std::mt19937_64 rng(seed);

  try {
    for (Precision prec : {Precision::F32, Precision::BF16})
      for (int64_t D : {64, 128, 40})
        for (int64_t T : {1, 17, 64, 100, 257})
          for (bool causal : {true, false}) check_case(AttnShape{2, 3, T, D}, AttnParams{causal, 0.f}, prec, rng);
    for (Precision prec : {Precision::F32, Precision::BF16})
      check_case(AttnShape{1, 2, 70, 64}, AttnParams{false, 0.3f}, prec, rng);  // a custom scale
    check_errors();
    for (Precision prec : {Precision::F32, Precision::BF16}) check_host_api(prec, rng);  // also: still works after errors
  } catch (const std::exception& e) {
    ++failures;
    std::printf("FAIL unexpected exception: %s\n", e.what());
  }
  std::printf("test_attention_cuda: %s (%d failure%s)\n", failures ? "FAILED" : "passed", failures,
              failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}

#endif  // HEADGRAD_WITH_CUDA
