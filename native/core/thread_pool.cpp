#include "core/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace hg {
namespace {

// True on a pool worker thread, and on a caller thread while it runs items of its own loop.
thread_local bool in_pool_item = false;

struct ItemScope {
  bool saved = in_pool_item;
  ItemScope() { in_pool_item = true; }
  ~ItemScope() { in_pool_item = saved; }
};

// Spin this long (a bounded busy wait with pause) for the next job, or for the last item of
// the current one, before blocking on a condition variable. Ops follow each other within
// microseconds in a forward or backward pass, so a hand-off then costs no system call; a pool
// with nothing to do goes to sleep after this and costs nothing.
constexpr std::chrono::microseconds kSpin{200};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

// Spins until ready() or kSpin has passed; true when ready.
template <class Ready>
bool spin_until(Ready ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= until) return ready();
  }
}

// Workers wait for a new generation; the caller publishes a job by bumping it and waits for
// `active_` to reach 0. Both sides spin first and then sleep; a sleeper announces itself
// (sleepers_, caller_sleeping_) before its last check, under m_, and the other side, after
// its store, notifies only when it sees a sleeper (seq_cst on both: one of them sees the other).
class Pool {
 public:
  explicit Pool(int n) : nthreads_(n) {
    for (int t = 1; t < n; ++t) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    stop_.store(true);
    generation_.fetch_add(1);
    {
      std::lock_guard<std::mutex> lk(m_);
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int size() const { return nthreads_; }

  void run(int64_t n, const std::function<void(int64_t)>& fn) {
    if (n <= 0) return;
    if (in_pool_item) {  // nested: the pool is busy with the outer loop (see thread_pool.h)
      for (int64_t i = 0; i < n; ++i) fn(i);
      return;
    }
    std::lock_guard<std::mutex> job_lock(job_m_);  // one job at a time: callers queue here
    ItemScope scope;
    if (nthreads_ == 1 || n == 1) {
      for (int64_t i = 0; i < n; ++i) fn(i);
      return;
    }
    fn_ = &fn;
    n_ = n;
    next_.store(0);
    error_ = nullptr;
    active_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1);  // publishes the job (seq_cst: ordered before the sleepers_ load)
    if (sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lk(m_); }  // a worker between its check and its wait gets there
      cv_.notify_all();
    }
    work();
    if (!spin_until([this] { return active_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lk(m_);
      caller_sleeping_.store(true);
      done_cv_.wait(lk, [this] { return active_.load() == 0; });
      caller_sleeping_.store(false);
    }
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void work() {
    for (;;) {
      int64_t i = next_.fetch_add(1);
      if (i >= n_) break;
      try {
        (*fn_)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(error_m_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_);  // stop handing out items
      }
    }
  }
  void loop() {
    in_pool_item = true;
    uint64_t seen = 0;
    for (;;) {
      if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
        std::unique_lock<std::mutex> lk(m_);
        sleepers_.fetch_add(1);
        cv_.wait(lk, [&] { return generation_.load() != seen; });
        sleepers_.fetch_sub(1);
      }
      seen = generation_.load();
      if (stop_.load()) return;
      work();
      if (active_.fetch_sub(1) == 1 && caller_sleeping_.load()) {
        { std::lock_guard<std::mutex> lk(m_); }
        done_cv_.notify_one();
      }
    }
  }

  int nthreads_;
  std::vector<std::thread> workers_;
  std::mutex job_m_, m_, error_m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> next_{0};
  std::exception_ptr error_;
  std::atomic<int> active_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_sleeping_{false}, stop_{false};
};

// The first line of a small file ("" if it cannot be read).
std::string read_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// CPUs allowed by one cgroup directory's quota; 0 when it sets none.
int dir_limit(const std::string& dir) {
  std::istringstream v2(read_line(dir + "/cpu.max"));
  std::string quota;
  double period = 0;
  if (v2 >> quota >> period) {
    if (quota == "max" || period <= 0) return 0;
    return static_cast<int>(std::ceil(std::atof(quota.c_str()) / period));
  }
  const std::string q1 = read_line(dir + "/cpu.cfs_quota_us"), p1 = read_line(dir + "/cpu.cfs_period_us");
  if (q1.empty() || p1.empty()) return 0;
  const double q = std::atof(q1.c_str()), p = std::atof(p1.c_str());
  if (q <= 0 || p <= 0) return 0;
  return static_cast<int>(std::ceil(q / p));
}

int configured_threads() {
  if (const char* s = std::getenv("HEADGRAD_THREADS")) {
    int v = std::atoi(s);
    if (v >= 1 && v <= 1024) return v;
  }
  unsigned hw = std::thread::hardware_concurrency();
  int n = hw == 0 ? 1 : static_cast<int>(hw);
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) n = std::min(n, CPU_COUNT(&set));
  const int quota = cgroup_cpu_limit();
  if (quota > 0) n = std::min(n, quota);
  return std::max(n, 1);
}

Pool& pool() {
  static Pool p(configured_threads());
  return p;
}

}  // namespace

int num_threads() { return pool().size(); }

int cgroup_cpu_limit(const std::string& cgroup_root, const std::string& proc_cgroup) {
  std::ifstream in(proc_cgroup);
  std::string line;
  int best = 0;
  auto take = [&](int v) {
    if (v > 0 && (best == 0 || v < best)) best = v;
  };
  while (std::getline(in, line)) {
    // "hierarchy-id:controllers:path": v2 is "0::/path"; v1 lists "cpu" among the controllers.
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    std::string path = line.substr(b + 1);
    std::string base;
    if (controllers.empty()) {
      base = cgroup_root;
    } else {
      std::istringstream cs(controllers);
      std::string c;
      bool cpu = false;
      while (std::getline(cs, c, ',')) cpu = cpu || c == "cpu";
      if (!cpu) continue;
      for (const char* mount : {"/cpu", "/cpu,cpuacct", "/cpuacct,cpu"}) {
        if (!read_line(cgroup_root + mount + "/cpu.cfs_period_us").empty() ||
            !read_line(cgroup_root + mount + path + "/cpu.cfs_period_us").empty()) {
          base = cgroup_root + mount;
          break;
        }
      }
      if (base.empty()) continue;
    }
    // The quota may sit on the process's own cgroup or on any ancestor; the smallest one binds.
    while (true) {
      take(dir_limit(base + path));
      if (path.empty() || path == "/") break;
      const size_t slash = path.find_last_of('/');
      path = slash == 0 || slash == std::string::npos ? "" : path.substr(0, slash);
    }
  }
  return best;
}

int64_t serial_work() {
  static const int64_t w = [] {
    const char* s = std::getenv("HEADGRAD_SERIAL_WORK");
    return s ? std::max<int64_t>(0, std::atoll(s)) : kSerialWork;
  }();
  return w;
}

void parallel_for(int64_t n, const std::function<void(int64_t)>& fn, int64_t work) {
  if (work >= 0 && work < serial_work()) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  pool().run(n, fn);
}

}  // namespace hg
