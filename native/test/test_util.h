// Small helpers shared by the CPU kernel tests: failure counting, random inputs, and a
// float-vs-float64 closeness check that reports the first bad element.
#pragma once
#include <cmath>
#include <cstdio>
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

inline std::vector<float> randn(std::mt19937& rng, size_t n, float stddev = 1.f) {
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
