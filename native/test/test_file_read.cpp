// core/file_read.h read_segments: every element of every segment handed over once, in order and
// aligned, with 2- and 4-byte elements at offsets that split them across blocks; a file that
// ends early names the segment; fn can stop the read. Files in the current directory (the build
// folder: a disk), evicted from the page cache (direct reads) or not (plain reads), and in
// /dev/shm (tmpfs: the plain-read fallback) where it exists.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "core/file_read.h"
#include "test_util.h"

using namespace hgtest;

namespace {
std::vector<uint8_t> file_bytes(size_t n) {  // byte i = a hash of i: a misplaced byte shows
  std::vector<uint8_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  return b;
}

void write_file(const std::string& path, const std::vector<uint8_t>& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  expect(f != nullptr, "open " + path);
  if (!f) return;
  std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}

void check(const std::string& dir, bool cold) {
  const std::string path = dir + "/hg_test_file_read_" + std::to_string(::getpid());
  const int64_t block = 4096 * 3;
  const auto bytes = file_bytes(block * 5 + 1234);
  write_file(path, bytes);
  if (cold) {  // out of the page cache, so that the direct reads run (a cached file is read plainly)
    const int fd = ::open(path.c_str(), O_RDONLY);
    ::fsync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  // 2-byte elements from offset 12; 4-byte ones at 2 mod 4 (split by the block edges); a gap; 4-byte
  // ones; 2-byte ones at an odd offset (split too) to a byte before the end
  const std::vector<hg::FileSegment> segs = {
      {12, 2 * 3001, 2}, {12 + 2 * 3001, 4 * 5000, 4}, {40000, 4 * 3, 4}, {block * 4 + 7, block + 1226, 2}};
  std::vector<int64_t> next(segs.size(), 0);  // the next element expected per segment
  bool aligned = true, order = true, values = true;
  size_t last = 0;
  const int64_t r = hg::read_segments(path, segs, [&](size_t i, int64_t first, const uint8_t* data, int64_t count) {
    const hg::FileSegment& s = segs[i];
    order = order && i >= last && first == next[i];
    last = i;
    aligned = aligned && reinterpret_cast<uintptr_t>(data) % s.width == 0;
    values = values && std::memcmp(data, bytes.data() + s.file_offset + first * s.width, count * s.width) == 0;
    next[i] = first + count;
    return true;
  }, block);
  expect(r == -1, dir + ": read to the end");
  expect(order && aligned && values, dir + ": in order, aligned, the file's bytes");
  for (size_t i = 0; i < segs.size(); ++i) expect(next[i] * segs[i].width == segs[i].bytes, dir + ": every element of segment " + std::to_string(i));

  // the file ends inside segment 3, then inside segment 1
  const int64_t ended = hg::read_segments(path, {segs[0], segs[1], segs[2], {block * 4 + 7, block + 2000, 2}},
                                          [](size_t, int64_t, const uint8_t*, int64_t) { return true; }, block);
  expect(ended == 3, dir + ": the file ends in segment 3, got " + std::to_string(ended));
  expect(hg::read_segments(path, {{12, 2 * 3001, 2}, {static_cast<int64_t>(bytes.size()) - 100, 400, 4}},
                           [](size_t, int64_t, const uint8_t*, int64_t) { return true; }, block) == 1,
         dir + ": the file ends in segment 1");
  // fn stops the read at the first call for segment 1
  size_t calls_after = 0;
  bool stopped = false;
  expect(hg::read_segments(path, segs, [&](size_t i, int64_t, const uint8_t*, int64_t) {
           if (stopped) ++calls_after;
           if (i == 1) stopped = true;
           return i != 1;
         }, block) == -1 && stopped && calls_after == 0,
         dir + ": fn stops the read");
  std::remove(path.c_str());
}
}  // namespace

int main() {
  check(".", true);   // direct reads
  check(".", false);  // plain reads of a cached file
  if (::access("/dev/shm", W_OK) == 0) check("/dev/shm", false);
  bool threw = false;
  try {
    hg::read_segments("/nonexistent/x", {{0, 4, 4}}, [](size_t, int64_t, const uint8_t*, int64_t) { return true; });
  } catch (const std::exception& e) {
    threw = std::string(e.what()).find("/nonexistent/x: cannot open") != std::string::npos;
  }
  expect(threw, "a missing file is an error naming it");
  return finish("test_file_read");
}
