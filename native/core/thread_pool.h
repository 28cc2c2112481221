// One process-wide kernel thread pool, sized to the CPUs this process may use: the cores it is
// allowed to run on, capped by a cgroup CPU quota (containers); HEADGRAD_THREADS overrides.
// parallel_for calls from different threads (e.g. two AsyncWorkers) queue on a mutex instead of
// oversubscribing the cores; a parallel_for inside a work item runs inline on that thread.
//
// Determinism contract: work item i must write only its own outputs; the pool never splits
// a floating-point reduction across threads, so results do not depend on scheduling.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace hg {

int num_threads();

// Runs fn(i) for i in [0, n). Items are handed out dynamically; the caller thread works too.
// The first exception thrown by fn is rethrown on the caller after all items have stopped.
// Called from inside a work item (nested), it runs the items in order on the calling thread:
// every pool thread is already busy with the outer loop, so waiting for them would deadlock.
// `work` estimates the whole loop's cost (unit: one element of a simple pointwise loop, about a
// nanosecond of one core; a gemm counts its multiply-adds / 16); below serial_work() the items
// run in order on the calling thread, since waking and joining another thread costs more. -1:
// unknown, always parallel. Either way every item runs once with the same bounds, so results
// do not change.
void parallel_for(int64_t n, const std::function<void(int64_t)>& fn, int64_t work = -1);

// The threshold: kSerialWork, or HEADGRAD_SERIAL_WORK (read once; for measuring, docs/cpu.md).
constexpr int64_t kSerialWork = 1 << 15;
int64_t serial_work();

// The CPU limit of a cgroup quota, rounded up to whole CPUs; 0 when there is none. Reads
// `proc_cgroup` (the format of /proc/self/cgroup) to find this process's cgroup under
// `cgroup_root` (/sys/fs/cgroup), and takes the smallest limit on the path up to the root:
// cgroup v2 cpu.max ("200000 100000" = 2 CPUs, "max 100000" = none), or cgroup v1
// cpu.cfs_quota_us / cpu.cfs_period_us (quota -1 = none). Parameters exist for the tests.
int cgroup_cpu_limit(const std::string& cgroup_root = "/sys/fs/cgroup",
                     const std::string& proc_cgroup = "/proc/self/cgroup");

}  // namespace hg
