// first_non_finite: finds the first NaN/Inf wherever it sits relative to the scan's chunks.
#include <limits>

#include "core/finite.h"
#include "test_util.h"

using namespace hgtest;

int main() {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  for (size_t n : {1, 7, 4096, 4097, 10000}) {
    std::vector<float> x(n, 1.5f);
    x[0] = -3e38f;  // large but finite
    expect(hg::first_non_finite(x.data(), n) == n, "n=" + std::to_string(n) + " all finite");
    for (size_t at : {size_t(0), n / 2, n - 1})
      for (float b : bad) {
        std::vector<float> y = x;
        y[at] = b;
        if (at + 1 < n) y[n - 1] = b;  // a later one must not be reported first
        expect(hg::first_non_finite(y.data(), n) == at,
               "n=" + std::to_string(n) + " value " + std::to_string(b) + " at " + std::to_string(at));
      }
  }
  return finish("test_finite");
}
