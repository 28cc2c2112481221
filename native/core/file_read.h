// Reading tensors out of a checkpoint file at the disk's speed (the loader of checkpoint folders).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hg {

// Bytes [file_offset, file_offset + bytes) of a file: a tensor of elements `width` bytes each.
struct FileSegment {
  int64_t file_offset, bytes, width;
};

// Reads the segments of `path` (in file order, not overlapping) and hands their elements to
// fn(segment, first, data, count) in order: elements [first, first + count) of that segment, data
// aligned to the width (an element split between two reads is put together first). fn returns
// false to stop the read. Returns -1 when every segment was read (or fn stopped it), else the
// index of the segment the file ended in.
//
// Reads go in aligned blocks of `block` bytes (a multiple of 4096), the next block read on a
// second thread while fn takes the current one. They bypass the page cache (O_DIRECT) unless the
// range is in it already (90% of its pages: a warm load, which plain reads copy from memory): on
// the VMs this runs on, a cold buffered read of a 2.5 GB checkpoint takes 5x as long as a direct
// one. Where the file system refuses O_DIRECT (tmpfs), plain reads. Throws hg::Error naming the
// file on an I/O error.
int64_t read_segments(const std::string& path, const std::vector<FileSegment>& segments,
                      const std::function<bool(size_t segment, int64_t first, const uint8_t* data, int64_t count)>& fn,
                      int64_t block = int64_t{1} << 24);

}  // namespace hg
