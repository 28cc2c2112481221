// first_non_finite: finds the first NaN/Inf wherever it sits relative to the scan's chunks.
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "core/finite.h"

int main() {
  int failures = 0;
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  for (size_t n : {1, 7, 4096, 4097, 10000}) {
    std::vector<float> x(n, 1.5f);
    x[0] = -3e38f;  // large but finite
    if (hg::first_non_finite(x.data(), n) != n) ++failures, std::printf("FAIL: n=%zu all finite\n", n);
    for (size_t at : {size_t(0), n / 2, n - 1})
      for (float b : bad) {
        std::vector<float> y = x;
        y[at] = b;
        if (at + 1 < n) y[n - 1] = b;  // a later one must not be reported first
        if (hg::first_non_finite(y.data(), n) != at)
          ++failures, std::printf("FAIL: n=%zu value %f at %zu\n", n, b, at);
      }
  }
  std::printf("%s\n", failures ? "finite tests FAILED" : "finite tests passed");
  return failures ? 1 : 0;
}
