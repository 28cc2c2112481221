// Times the CUDA attention (forward, forward+backward with head-score capture on and off) with
// CUDA events, for f32 and bf16, causal, T in {512, 2048, 8192}, D in {64, 128}, with B·H·T
// fixed at 16·16·2048 tokens so every shape fills the GPU. Prints a table; --out FILE writes
// the same numbers as JSON. TFLOP/s by FlashAttention's convention: forward 4·B·H·T²·D,
// backward 2.5× forward, both halved when causal.
//
//   bench_attention_cuda [--out FILE]   the benchmark
//   bench_attention_cuda --small        one small forward+backward per path, no timing
//                                        (the case compute-sanitizer runs in scripts/gpu-check.sh)
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/attention.h"
#include "core/cuda_api.h"
#include "cuda/attention.cuh"
#include "cuda/cuda_check.cuh"
#include "cuda/device_buffer.cuh"

namespace {

using hg::AttnParams;
using hg::AttnShape;
using hg::cuda::DeviceBuffer;
using hg::cuda::Precision;
namespace att = hg::cuda::attention;

constexpr int64_t kTokens = 16 * 16 * 2048;  // B·H·T for every shape
constexpr int64_t kHeads = 16;
constexpr double kMinSeconds = 1.0;  // per measurement, after warm-up
constexpr int kMinRuns = 3, kMaxRuns = 25;

// Uniform in [-√3, √3) (unit variance) from a counter-based hash: fresh inputs per seed,
// generated on the device so that large shapes cost no host time.
__global__ void fill_kernel(float* x, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 0x9E3779B1u ^ static_cast<uint32_t>(i >> 32) * 0x85EBCA77u ^ seed;
    h ^= h >> 16, h *= 0x7FEB352Du, h ^= h >> 15, h *= 0x846CA68Bu, h ^= h >> 16;
    x[i] = (static_cast<float>(h) * 2.3283064e-10f * 2.f - 1.f) * 1.7320508f;
  }
}

void fill(DeviceBuffer<float>& b, uint32_t seed) {
  fill_kernel<<<1024, 256>>>(b.get(), static_cast<int64_t>(b.size()), seed);
  HG_CUDA_CHECK(cudaGetLastError());
}

struct Tensors {
  DeviceBuffer<float> q, k, v, out, lse, dout, dq, dk, dv, score;
  DeviceBuffer<unsigned char> ws;
  Tensors(const AttnShape& s, size_t ws_bytes)
      : q(s.numel()), k(s.numel()), v(s.numel()), out(s.numel()), lse(s.rows()), dout(s.numel()), dq(s.numel()),
        dk(s.numel()), dv(s.numel()), score(s.B * s.H), ws(ws_bytes) {}
  void randomise(uint32_t seed) {
    fill(q, seed), fill(k, seed + 1), fill(v, seed + 2), fill(dout, seed + 3);
  }
  void forward(const AttnShape& s, const AttnParams& p, Precision prec) {
    att::forward(q.get(), k.get(), v.get(), out.get(), lse.get(), s, p, prec, ws.get(), nullptr);
  }
  void backward(const AttnShape& s, const AttnParams& p, Precision prec, bool capture) {
    att::backward(dout.get(), q.get(), k.get(), v.get(), out.get(), lse.get(), dq.get(), dk.get(), dv.get(),
                  capture ? score.get() : nullptr, s, p, prec, ws.get(), nullptr);
  }
};

class EventTimer {
 public:
  EventTimer() {
    HG_CUDA_CHECK(cudaEventCreate(&start_));
    HG_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  double ms(const std::function<void()>& fn) {
    HG_CUDA_CHECK(cudaEventRecord(start_));
    fn();
    HG_CUDA_CHECK(cudaEventRecord(stop_));
    HG_CUDA_CHECK(cudaEventSynchronize(stop_));
    float t = 0;
    HG_CUDA_CHECK(cudaEventElapsedTime(&t, start_, stop_));
    return t;
  }

 private:
  cudaEvent_t start_, stop_;
};

double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

// Times each function in turn, interleaved (so clock drift hits all alike), after one warm-up
// round, until every one has kMinRuns samples and kMinSeconds in all, or kMaxRuns samples.
std::vector<double> median_ms(EventTimer& timer, const std::vector<std::function<void()>>& fns) {
  for (auto& fn : fns) timer.ms(fn);
  std::vector<std::vector<double>> samples(fns.size());
  double total = 0;
  for (int run = 0; run < kMaxRuns && (run < kMinRuns || total < kMinSeconds * 1e3); ++run)
    for (size_t i = 0; i < fns.size(); ++i) {
      samples[i].push_back(timer.ms(fns[i]));
      total += samples[i].back();
    }
  std::vector<double> med;
  for (auto& s : samples) med.push_back(median(s));
  return med;
}

struct Row {
  const char* precision;
  AttnShape s;
  double fwd_ms, fwdbwd_ms, fwdbwd_nocapture_ms;
  double flops_fwd() const { return 4.0 * s.B * s.H * s.T * s.T * s.D / 2; }  // causal: half
  double fwd_tflops() const { return flops_fwd() / (fwd_ms * 1e9); }
  double fwdbwd_tflops() const { return 3.5 * flops_fwd() / (fwdbwd_ms * 1e9); }
  double capture_overhead_pct() const { return 100.0 * (fwdbwd_ms / fwdbwd_nocapture_ms - 1.0); }
};

Row measure(Tensors& t, const AttnShape& s, Precision prec, EventTimer& timer, uint32_t seed) {
  const AttnParams p{true, 0.f};
  t.randomise(seed);
  Row r{prec == Precision::F32 ? "f32" : "bf16", s, 0, 0, 0};
  r.fwd_ms = median_ms(timer, {[&] { t.forward(s, p, prec); }})[0];
  const auto both = median_ms(timer, {[&] { t.forward(s, p, prec), t.backward(s, p, prec, true); },
                                      [&] { t.forward(s, p, prec), t.backward(s, p, prec, false); }});
  r.fwdbwd_ms = both[0];
  r.fwdbwd_nocapture_ms = both[1];
  return r;
}

std::string to_json(const std::vector<Row>& rows, const hg::cuda::DeviceInfo& dev) {
  std::ostringstream o;
  o << "{\n  \"device\": \"" << dev.name << "\",\n  \"computeCapability\": \"" << dev.compute_capability
    << "\",\n  \"tokens\": " << kTokens << ",\n  \"causal\": true,\n  \"results\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    o << "    {\"precision\": \"" << r.precision << "\", \"B\": " << r.s.B << ", \"H\": " << r.s.H << ", \"T\": " << r.s.T
      << ", \"D\": " << r.s.D << ", \"fwd_ms\": " << r.fwd_ms << ", \"fwdbwd_ms\": " << r.fwdbwd_ms
      << ", \"fwdbwd_nocapture_ms\": " << r.fwdbwd_nocapture_ms << ", \"fwd_tflops\": " << r.fwd_tflops()
      << ", \"fwdbwd_tflops\": " << r.fwdbwd_tflops() << ", \"capture_overhead_pct\": " << r.capture_overhead_pct()
      << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  o << "  ]\n}\n";
  return o.str();
}

int run_benchmark(const char* out_path, const hg::cuda::DeviceInfo& dev) {
  EventTimer timer;
  std::vector<Row> rows;
  std::printf("%-5s %5s %3s %4s %3s %10s %8s %12s %10s %9s\n", "prec", "T", "D", "B", "H", "fwd ms", "fwd TF/s",
              "fwd+bwd ms", "f+b TF/s", "capture");
  uint32_t seed = 1;
  for (int64_t D : {64, 128}) {
    const AttnShape biggest{kTokens / (kHeads * 512), kHeads, 512, D};  // same numel for every T
    size_t ws = 0;
    for (Precision prec : {Precision::F32, Precision::BF16})
      ws = std::max({ws, att::forward_workspace_bytes(biggest, prec), att::backward_workspace_bytes(biggest, prec)});
    Tensors t(biggest, ws);
    for (Precision prec : {Precision::F32, Precision::BF16})
      for (int64_t T : {512, 2048, 8192}) {
        const AttnShape s{kTokens / (kHeads * T), kHeads, T, D};
        rows.push_back(measure(t, s, prec, timer, seed += 4));
        const Row& r = rows.back();
        std::printf("%-5s %5lld %3lld %4lld %3lld %10.3f %8.1f %12.3f %10.1f %8.1f%%\n", r.precision, (long long)T,
                    (long long)D, (long long)s.B, (long long)s.H, r.fwd_ms, r.fwd_tflops(), r.fwdbwd_ms,
                    r.fwdbwd_tflops(), r.capture_overhead_pct());
        std::fflush(stdout);
      }
  }
  if (out_path) {
    std::ofstream f(out_path);
    f << to_json(rows, dev);
    if (!f) {
      std::fprintf(stderr, "bench_attention_cuda: could not write %s\n", out_path);
      return 1;
    }
    std::printf("wrote %s\n", out_path);
  }
  return 0;
}

// One forward+backward per kernel family on a small shape (T not a multiple of any tile), for
// compute-sanitizer's memcheck and racecheck.
int run_small() {
  for (const auto& [prec, D] : std::vector<std::pair<Precision, int64_t>>{
           {Precision::F32, 64}, {Precision::BF16, 64}, {Precision::BF16, 128}, {Precision::F32, 40}})
    for (bool causal : {true, false}) {
      const AttnShape s{1, 2, 100, D};
      const AttnParams p{causal, 0.f};
      Tensors t(s, std::max(att::forward_workspace_bytes(s, prec), att::backward_workspace_bytes(s, prec)));
      t.randomise(7);
      t.forward(s, p, prec);
      t.backward(s, p, prec, true);
      HG_CUDA_CHECK(cudaDeviceSynchronize());
    }
  std::printf("bench_attention_cuda --small: all kernels ran\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const char* out_path = nullptr;
  bool small = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--small")) small = true;
    else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_attention_cuda [--out FILE] | --small\n");
      return 2;
    }
  }
  const hg::cuda::Availability a = hg::cuda::query();
  if (!a.available) {
    std::fprintf(stderr, "bench_attention_cuda: %s\n", a.reason.c_str());
    return 1;
  }
  try {
    return small ? run_small() : run_benchmark(out_path, a.devices[0]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_attention_cuda: %s\n", e.what());
    return 1;
  }
}
