// The kernel thread pool: every item runs once, a nested parallel_for runs inline instead of
// deadlocking (guarded by a watchdog so a regression fails instead of hanging), exceptions reach
// the caller, hand-offs work to spinning and to sleeping workers, small work stays on the
// caller, and cgroup CPU quotas are read correctly from v1 and v2 layouts.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "test_util.h"

using namespace hgtest;
namespace fs = std::filesystem;

// Runs f on another thread; fails the test (and exits, since a deadlocked pool cannot be
// joined) if it does not finish within `seconds`.
template <class F>
void within(double seconds, const char* what, F f) {
  auto done = std::async(std::launch::async, f);
  if (done.wait_for(std::chrono::duration<double>(seconds)) != std::future_status::ready) {
    std::printf("FAIL: %s did not finish within %.0f s (deadlock)\n", what, seconds);
    std::fflush(stdout);
    std::_Exit(1);
  }
  done.get();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

int main() {
  expect(hg::num_threads() >= 1, "at least one thread");

  within(20, "nested parallel_for", [] {
    const int outer = 64, inner = 33;
    std::vector<std::atomic<int>> hits(outer * inner);
    hg::parallel_for(outer, [&](int64_t i) {
      hg::parallel_for(inner, [&](int64_t j) {
        hg::parallel_for(2, [&](int64_t) {});  // and one more level
        hits[i * inner + j]++;
      });
    });
    int wrong = 0;
    for (auto& h : hits) wrong += h.load() != 1;
    expect(wrong == 0, "nested parallel_for: every (i, j) ran exactly once, " + std::to_string(wrong) + " did not");
  });

  within(20, "nested parallel_for that throws", [] {
    bool caught = false;
    try {
      hg::parallel_for(16, [&](int64_t i) {
        hg::parallel_for(8, [&](int64_t j) {
          if (i == 5 && j == 3) throw std::runtime_error("inner");
        });
      });
    } catch (const std::runtime_error& e) {
      caught = std::string(e.what()) == "inner";
    }
    expect(caught, "an exception in a nested item reaches the outer caller");
    std::atomic<int> after{0};
    hg::parallel_for(100, [&](int64_t) { after++; });
    expect(after.load() == 100, "the pool works after an exception");
  });

  within(20, "parallel_for from two threads at once", [] {
    std::atomic<int64_t> sum{0};
    auto job = [&] { hg::parallel_for(1000, [&](int64_t i) { sum += i; }); };
    std::thread a(job), b(job);
    a.join();
    b.join();
    expect(sum.load() == 2 * 499500, "two callers: all items of both ran");
  });

  within(20, "hand-offs to spinning and to sleeping workers", [] {
    // Back to back (the workers still spin), then after pauses longer than the spin (they
    // sleep and must be woken): every item of every job runs exactly once.
    int wrong = 0;
    for (int round = 0; round < 200; ++round) {
      if (round % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      std::vector<std::atomic<int>> hits(37);
      hg::parallel_for(37, [&](int64_t i) { hits[i]++; });
      for (auto& h : hits) wrong += h.load() != 1;
    }
    expect(wrong == 0, "every item ran once in every round, " + std::to_string(wrong) + " did not");
  });

  {  // Small work runs on the calling thread, the same items in order; unknown work (-1) is parallel.
    const auto me = std::this_thread::get_id();
    std::vector<std::thread::id> who(50);
    std::vector<int> rank(50, -1);
    std::atomic<int> next{0};
    hg::parallel_for(50, [&](int64_t i) {
      rank[i] = next++;
      who[i] = std::this_thread::get_id();
    }, hg::serial_work() - 1);
    bool ok = true;
    for (int i = 0; i < 50; ++i) ok = ok && rank[i] == i && who[i] == me;
    expect(ok, "work below serial_work(): every item on the caller, in order");
    if (hg::num_threads() > 1) {
      std::atomic<bool> other{false};
      for (int tries = 0; tries < 50 && !other.load(); ++tries)
        hg::parallel_for(64, [&](int64_t) {
          if (std::this_thread::get_id() != me) other = true;
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        });
      expect(other.load(), "unknown work: other threads take items");
    }
  }

  // cgroup quotas, on fake trees.
  const fs::path root = fs::temp_directory_path() / ("hg_cgroup_test_" + std::to_string(::getpid()));
  fs::remove_all(root);
  const std::string sys = (root / "sys").string(), self = (root / "self_cgroup").string();
  write(self, "0::/user.slice/job\n");
  write(root / "sys/user.slice/job/cpu.max", "250000 100000\n");
  expect(hg::cgroup_cpu_limit(sys, self) == 3, "v2: 2.5 CPUs round up to 3");
  write(root / "sys/user.slice/job/cpu.max", "max 100000\n");
  expect(hg::cgroup_cpu_limit(sys, self) == 0, "v2: max means no limit");
  write(root / "sys/user.slice/cpu.max", "100000 100000\n");
  expect(hg::cgroup_cpu_limit(sys, self) == 1, "v2: a parent's quota binds");
  fs::remove_all(root / "sys");
  write(self, "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n");
  write(root / "sys/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
  write(root / "sys/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  expect(hg::cgroup_cpu_limit(sys, self) == 0, "v1: quota -1 means no limit");
  write(root / "sys/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "150000\n");
  expect(hg::cgroup_cpu_limit(sys, self) == 2, "v1: 1.5 CPUs round up to 2");
  // Inside a container the cgroup is mounted at its own root: the path from /proc does not exist.
  fs::remove_all(root / "sys");
  write(root / "sys/cpu,cpuacct/cpu.cfs_quota_us", "400000\n");
  write(root / "sys/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  expect(hg::cgroup_cpu_limit(sys, self) == 4, "v1: the mount root's quota when the path is not visible");
  expect(hg::cgroup_cpu_limit(sys, (root / "missing").string()) == 0, "no /proc/self/cgroup: no limit");
  fs::remove_all(root);

  return finish("test_thread_pool");
}
