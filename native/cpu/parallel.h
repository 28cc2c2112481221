// Chunked parallel loops for the CPU kernels. Chunk boundaries depend only on n and grain,
// never on the thread count, so a kernel whose chunks write disjoint outputs is deterministic.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace hg {
namespace cpu {

// fn(begin, end) over [0, n) in chunks of `grain` items. item_work: the cost of one of the n
// items (the unit of parallel_for's `work`); a loop under serial_work() in all runs its chunks
// on the calling thread. -1: unknown, always parallel.
template <class F>
void parallel_chunks(int64_t n, int64_t grain, F&& fn, int64_t item_work = -1) {
  if (n <= 0) return;
  const int64_t chunks = (n + grain - 1) / grain;
  parallel_for(chunks, [&](int64_t c) { fn(c * grain, std::min(n, (c + 1) * grain)); },
               item_work < 0 ? -1 : n * item_work);
}

}  // namespace cpu
}  // namespace hg
