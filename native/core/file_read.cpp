#include "core/file_read.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <new>
#include <vector>

#include "core/errors.h"

namespace hg {

namespace {
constexpr int64_t kAlign = 4096;  // O_DIRECT: offsets, lengths and addresses aligned to this

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};

// Whether [begin, end) of the file is in the page cache already, 90% of its pages at least (a
// warm load): plain reads then copy it from memory, faster than reading the disk again.
bool cached(int fd, int64_t begin, int64_t end) {
  const int64_t page = ::sysconf(_SC_PAGESIZE), first = begin / page * page, len = end - first;
  void* m = ::mmap(nullptr, static_cast<size_t>(len), PROT_READ, MAP_SHARED, fd, static_cast<off_t>(first));
  if (m == MAP_FAILED) return false;
  std::vector<unsigned char> in(static_cast<size_t>((len + page - 1) / page));
  int64_t resident = 0;
  if (::mincore(m, static_cast<size_t>(len), in.data()) == 0)
    for (unsigned char c : in) resident += c & 1;
  ::munmap(m, static_cast<size_t>(len));
  return resident * 10 >= static_cast<int64_t>(in.size()) * 9;
}

// Calls fn(offset, data, n) for consecutive pieces covering [begin, end) of the file (fn returns
// false to stop); returns the bytes handed over, less than end - begin when the file ends first.
int64_t read_range(const std::string& path, int64_t begin, int64_t end, int64_t block,
                   const std::function<bool(int64_t, const uint8_t*, int64_t)>& fn) {
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY);
  if (f.fd < 0) throw_error(path + ": cannot open: " + std::strerror(errno));
#ifdef O_DIRECT
  if (!cached(f.fd, begin, end)) {
    const int direct = ::open(path.c_str(), O_RDONLY | O_DIRECT);  // refused by some file systems (tmpfs: EINVAL)
    if (direct >= 0) {
      ::close(f.fd);
      f.fd = direct;
    }
  }
#endif
  std::unique_ptr<uint8_t, FreeDeleter> bufs[2];
  for (auto& b : bufs) {
    b.reset(static_cast<uint8_t*>(std::aligned_alloc(kAlign, static_cast<size_t>(block))));
    if (!b) throw std::bad_alloc();
  }
  auto read_block = [&](int64_t at, uint8_t* buf) {  // bytes read: short only at the end of the file
    int64_t got = 0;
    while (got < block) {
      const ssize_t r = ::pread(f.fd, buf + got, static_cast<size_t>(block - got), static_cast<off_t>(at + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw_error(path + ": read failed at byte " + std::to_string(at + got) + ": " + std::strerror(errno));
      if (r == 0) break;
      got += r;
    }
    return got;
  };
  // Block k covers [first + k·block, ...): aligned, so a direct read takes it as it is.
  const int64_t first = begin / kAlign * kAlign;
  int64_t handed = 0;
  std::future<int64_t> next = std::async(std::launch::async, read_block, first, bufs[0].get());
  for (int64_t k = 0, at = first; at < end; ++k, at += block) {
    const int64_t got = next.get();
    if (at + block < end && got == block)
      next = std::async(std::launch::async, read_block, at + block, bufs[(k + 1) % 2].get());
    const int64_t lo = std::max(at, begin), hi = std::min(at + got, end);
    if (lo < hi) {
      if (!fn(lo, bufs[k % 2].get() + (lo - at), hi - lo)) break;
      handed += hi - lo;
    }
    if (got < block) break;  // the end of the file
  }
  if (next.valid()) next.wait();  // the read in flight finishes before its buffer goes
  return handed;
}
}  // namespace

int64_t read_segments(const std::string& path, const std::vector<FileSegment>& segs,
                      const std::function<bool(size_t, int64_t, const uint8_t*, int64_t)>& fn, int64_t block) {
  HG_CHECK(block > 0 && block % kAlign == 0, "read_segments: block must be a positive multiple of 4096");
  if (segs.empty()) return -1;
  const int64_t begin = segs.front().file_offset, end = segs.back().file_offset + segs.back().bytes;
  size_t s = 0;                // the first segment not complete yet
  std::vector<uint8_t> stage;  // an element split between two pieces, or a misaligned run
  bool stopped = false;
  const int64_t got = read_range(path, begin, end, block, [&](int64_t offset, const uint8_t* data, int64_t n) {
    for (size_t i = s; i < segs.size() && segs[i].file_offset < offset + n; ++i) {
      const FileSegment& seg = segs[i];
      const int64_t w = seg.width, lo = std::max(offset, seg.file_offset);
      const int64_t hi = std::min(offset + n, seg.file_offset + seg.bytes);
      if (hi == seg.file_offset + seg.bytes) s = i + 1;
      const uint8_t* p = data + (lo - offset);
      for (int64_t pos = lo - seg.file_offset, left = hi - lo; left > 0;) {  // pos: byte in the tensor
        const int64_t head = pos % w;  // bytes of a split element staged already
        int64_t take, count;
        const uint8_t* src = p;
        if (head != 0 || left < w) {  // finish or start a split element
          take = std::min(left, w - head);
          stage.resize(static_cast<size_t>(head + take));
          std::memcpy(stage.data() + head, p, static_cast<size_t>(take));
          count = head + take == w ? 1 : 0;
          src = stage.data();
        } else {
          count = left / w;
          take = count * w;
          if (reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(w) != 0) {  // callers read aligned values
            stage.assign(p, p + take);
            src = stage.data();
          }
        }
        if (count > 0 && !fn(i, (pos - head) / w, src, count)) {
          stopped = true;
          return false;
        }
        pos += take;
        p += take;
        left -= take;
      }
    }
    return true;
  });
  return stopped || got == end - begin ? -1 : static_cast<int64_t>(s);
}

}  // namespace hg
