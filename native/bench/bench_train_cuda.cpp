// Times a full GPT training step on the GPU (forward with loss, backward with head scores,
// AdamW) through the engine (core/gpt.h) with the CUDA ops tables, f32 and bf16, at two shapes:
//   L4 H8 C256 (V = 256, the byte-level tokenizer), batch 8 × seqLen 128
//   GPT-2 small (L12 H12 C768, V = 50257, P = 1024), batch 16 × seqLen 1024
// Reports ms/step, tokens/s and head-gradient throughput (head scores produced per second:
// L·B·H per step). Steps run back to back with the device synchronised around the timed
// loop, after warm-up steps. Prints a table; --out FILE writes the same numbers as JSON.
//
//   bench_train_cuda [--out FILE]   the benchmark
//   bench_train_cuda --small        two steps of a tiny model per precision, no timing
//                                   (the case compute-sanitizer runs in scripts/gpu-check.sh)
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/cuda_api.h"
#include "core/gpt.h"
#include "core/ops_cuda.h"
#include "cuda/cuda_check.cuh"

namespace {

using hg::cuda::Precision;

struct Shape {
  const char* name;
  hg::GPTConfig cfg;  // V, P, L, H, C
  int64_t B, T;
  int warmup, steps;
};

struct Row {
  std::string shape;
  Precision prec;
  int64_t B, T, L, H;
  double ms_per_step = 0;
  double tokens_per_s() const { return B * T / (ms_per_step / 1e3); }
  double head_scores_per_s() const { return L * B * H / (ms_per_step / 1e3); }
  double final_loss = 0;
};

const char* name_of(Precision p) { return p == Precision::BF16 ? "bf16" : "f32"; }

// Random tokens and next-token targets (the loss value does not matter for timing).
std::vector<int32_t> random_tokens(int64_t n, int64_t V, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, static_cast<int32_t>(V - 1));
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = d(rng);
  return t;
}

double run_steps(hg::GPT& model, const std::vector<int32_t>& x, const std::vector<int32_t>& y, int64_t B, int64_t T,
                 int steps, std::vector<float>& scores) {
  hg::StepOptions o;
  o.lr = 1e-4f;
  o.weight_decay = 0.1f;
  o.grad_clip = 1.f;
  double loss = 0;
  for (int s = 0; s < steps; ++s) {
    loss = model.forward(x.data(), y.data(), nullptr, B, T, nullptr);
    model.backward(scores.data());
    model.step(o);
  }
  return loss;
}

Row measure(const Shape& s, Precision prec) {
  hg::GPT model(s.cfg, hg::cuda_ops(prec), 0);
  const int64_t N = s.B * s.T;
  const auto x = random_tokens(N, s.cfg.V, 1), y = random_tokens(N, s.cfg.V, 2);
  std::vector<float> scores(static_cast<size_t>(s.cfg.L * s.B * s.cfg.H));
  run_steps(model, x, y, s.B, s.T, s.warmup, scores);
  HG_CUDA_CHECK(cudaDeviceSynchronize());
  const auto t0 = std::chrono::steady_clock::now();
  Row r{s.name, prec, s.B, s.T, s.cfg.L, s.cfg.H};
  r.final_loss = run_steps(model, x, y, s.B, s.T, s.steps, scores);
  HG_CUDA_CHECK(cudaDeviceSynchronize());  // the last AdamW step is counted too
  r.ms_per_step = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / s.steps;
  return r;
}

std::string to_json(const std::vector<Row>& rows, const hg::cuda::DeviceInfo& dev) {
  std::ostringstream o;
  o << "{\n  \"device\": \"" << dev.name << "\",\n  \"benchmark\": \"gpt_train_step\",\n  \"rows\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    o << "    {\"shape\": \"" << r.shape << "\", \"precision\": \"" << name_of(r.prec) << "\", \"batch\": " << r.B
      << ", \"seqLen\": " << r.T << ", \"layers\": " << r.L << ", \"heads\": " << r.H
      << ", \"msPerStep\": " << r.ms_per_step << ", \"tokensPerSec\": " << r.tokens_per_s()
      << ", \"headScoresPerSec\": " << r.head_scores_per_s() << ", \"finalLoss\": " << r.final_loss << "}"
      << (i + 1 < rows.size() ? "," : "") << "\n";
  }
  o << "  ]\n}\n";
  return o.str();
}

int small_run() {
  for (Precision prec : {Precision::F32, Precision::BF16}) {
    hg::GPT model(hg::GPTConfig{67, 40, 2, 2, 128}, hg::cuda_ops(prec), 0);  // hs 64: bf16 attention on tensor cores
    const auto x = random_tokens(2 * 33, 67, 1), y = random_tokens(2 * 33, 67, 2);
    std::vector<float> scores(2 * 2 * 2);
    run_steps(model, x, y, 2, 33, 2, scores);
    const auto out = model.generate({1, 2, 3}, 5, -1);
    HG_CUDA_CHECK(cudaDeviceSynchronize());
    std::printf("bench_train_cuda --small %s: 2 steps and %zu generated tokens ran\n", name_of(prec), out.size());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool small = false;
  std::string out_path;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--small")) small = true;
    else if (!std::strcmp(argv[i], "--out") && i + 1 < argc) out_path = argv[++i];
    else {
      std::fprintf(stderr, "usage: bench_train_cuda [--out FILE] | --small\n");
      return 2;
    }
  }
  const hg::cuda::Availability avail = hg::cuda::query();
  if (!avail.available) {
    std::fprintf(stderr, "bench_train_cuda: no usable GPU (%s)\n", avail.reason.c_str());
    return 1;
  }
  try {
    if (small) return small_run();
    const Shape shapes[] = {
        {"L4 H8 C256", hg::GPTConfig{256, 128, 4, 8, 256}, 8, 128, 3, 20},
        {"GPT-2 small", hg::GPTConfig{50257, 1024, 12, 12, 768}, 16, 1024, 1, 3},
    };
    std::vector<Row> rows;
    std::printf("GPT training step on %s (forward + backward with head scores + AdamW)\n\n", avail.devices[0].name.c_str());
    std::printf("%-12s %-5s %-9s %10s %12s %16s %9s\n", "model", "prec", "batch", "ms/step", "tokens/s", "head scores/s", "loss");
    for (const Shape& s : shapes) {
      for (Precision prec : {Precision::F32, Precision::BF16}) {
        rows.push_back(measure(s, prec));
        const Row& r = rows.back();
        std::printf("%-12s %-5s %4lldx%-4lld %10.2f %12.0f %16.0f %9.4f\n", r.shape.c_str(), name_of(prec),
                    static_cast<long long>(r.B), static_cast<long long>(r.T), r.ms_per_step, r.tokens_per_s(),
                    r.head_scores_per_s(), r.final_loss);
        std::fflush(stdout);
      }
    }
    if (!out_path.empty()) {
      std::ofstream f(out_path);
      f << to_json(rows, avail.devices[0]);
      if (!f) hg::throw_error("could not write " + out_path);
      std::printf("\nwrote %s\n", out_path.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train_cuda: %s\n", e.what());
    return 1;
  }
  return 0;
}
