#include "core/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
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

class Pool {
 public:
  explicit Pool(int n) : nthreads_(n) {
    for (int t = 1; t < n; ++t) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
      ++generation_;
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
    {
      std::lock_guard<std::mutex> lk(m_);
      fn_ = &fn;
      n_ = n;
      next_.store(0);
      error_ = nullptr;
      active_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    cv_.notify_all();
    work();
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [this] { return active_ == 0; });
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
        std::lock_guard<std::mutex> lk(m_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_);  // stop handing out items
      }
    }
  }
  void loop() {
    in_pool_item = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
      }
      work();
      {
        std::lock_guard<std::mutex> lk(m_);
        if (--active_ == 0) done_cv_.notify_one();
      }
    }
  }

  int nthreads_;
  std::vector<std::thread> workers_;
  std::mutex job_m_, m_;
  std::condition_variable cv_, done_cv_;
  const std::function<void(int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> next_{0};
  std::exception_ptr error_;
  int active_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
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

void parallel_for(int64_t n, const std::function<void(int64_t)>& fn) { pool().run(n, fn); }

}  // namespace hg
