// One process-wide kernel thread pool, sized to the machine's cores (HEADGRAD_THREADS
// overrides). parallel_for calls from different threads (e.g. two AsyncWorkers) queue on a
// mutex instead of oversubscribing the cores.
//
// Determinism contract: work item i must write only its own outputs; the pool never splits
// a floating-point reduction across threads, so results do not depend on scheduling.
#pragma once
#include <cstdint>
#include <functional>

namespace hg {

int num_threads();

// Runs fn(i) for i in [0, n). Items are handed out dynamically; the caller thread works too.
// The first exception thrown by fn is rethrown on the caller after all items have stopped.
void parallel_for(int64_t n, const std::function<void(int64_t)>& fn);

}  // namespace hg
