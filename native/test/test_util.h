// Small helpers shared by the C++ tests (CPU and CUDA): failure counting, random inputs, the
// run's seed, and the closeness checks: element-wise with the first bad element reported, or one
// error per tensor relative to its scale.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace hgtest {

inline int& failures() {
  static int n = 0;
  return n;
}

inline void expect(bool ok, const std::string& what) {
  if (!ok) {
    ++failures();
    std::printf("FAIL: %s\n", what.c_str());
  }
}

template <class Rng>
std::vector<float> randn(Rng& rng, size_t n, float stddev = 1.f) {
  std::normal_distribution<float> d(0.f, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// |got - want| <= atol + rtol·|want| for every element.
inline bool close(const std::vector<float>& got, const std::vector<double>& want, double atol, double rtol,
                  const std::string& what) {
  for (size_t i = 0; i < want.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      expect(false, what + "[" + std::to_string(i) + "]: got " + std::to_string(got[i]) + ", want " + std::to_string(want[i]));
      return false;
    }
  }
  return true;
}

// max|got − want| / max(max|want|, floor): an error relative to the tensor's scale, which is what
// f32 accumulation over many terms can promise (element-wise relative error cannot). With unit
// normal inputs, a floor of 1 keeps tensors that cancel to ~0 meaningful (e.g. attention's dq at
// T = 1, a difference of two f32 roundings of the same number). Infinite when got holds a NaN or
// an Inf, so an element that was never written or that overflowed cannot pass.
template <class W>
double max_rel_error(const std::vector<float>& got, const std::vector<W>& want, double floor = 1.0) {
  double err = 0, scale = floor;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    err = std::max(err, std::fabs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
  }
  return err / scale;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The seed of a test's random inputs: HEADGRAD_TEST_SEED when set (as in the TypeScript tests,
// test/helpers/seed.ts), else the suite's fixed BASE_SEED, so that ctest is reproducible bit for
// bit and `npm run test:seeds` sweeps fresh seeds.
inline uint64_t seed_from_env() {
  const char* env = std::getenv("HEADGRAD_TEST_SEED");
  return env && *env ? std::strtoull(env, nullptr, 10) : 20251203;
}

// Central finite difference of a float64 scalar function f(x) in every coordinate.
template <class F>
std::vector<double> numeric_grad(std::vector<double> x, F f, double eps = 1e-6) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + eps;
    const double up = f(x);
    x[i] = saved - eps;
    const double down = f(x);
    x[i] = saved;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}

inline int finish(const char* name) {
  std::printf("%s: %d failures\n", name, failures());
  return failures() == 0 ? 0 : 1;
}

}  // namespace hgtest
