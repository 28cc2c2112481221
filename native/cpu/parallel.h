// Chunked parallel loops for the CPU kernels. Chunk boundaries depend only on n and grain,
// never on the thread count, so a kernel whose chunks write disjoint outputs is deterministic.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace hg {
namespace cpu {

// fn(begin, end) over [0, n) in chunks of `grain` items.
template <class F>
void parallel_chunks(int64_t n, int64_t grain, F&& fn) {
  if (n <= 0) return;
  const int64_t chunks = (n + grain - 1) / grain;
  parallel_for(chunks, [&](int64_t c) { fn(c * grain, std::min(n, (c + 1) * grain)); });
}

}  // namespace cpu
}  // namespace hg
