#include "cuda/scratch.cuh"

#include <algorithm>
#include <atomic>
#include <list>
#include <mutex>

#include "core/cuda_api.h"
#include "cuda/cuda_check.cuh"
#include "cuda/device_buffer.cuh"

namespace hg {
namespace cuda {
namespace {

// One block per host thread that has run an engine op. The registry lets another thread free
// the blocks of idle threads (release_idle_scratch); `busy` counts the ops the owning thread is
// inside of (ScratchUse), during which its block must stay.
struct Block {
  DeviceBuffer<unsigned char> buffer;
  std::atomic<int> busy{0};
};

std::mutex registry_mu;
std::list<Block>& registry() {
  static std::list<Block> blocks;  // std::list: addresses stay valid as blocks are added
  return blocks;
}

Block& my_block() {
  thread_local Block* mine = nullptr;
  if (!mine) {
    std::lock_guard<std::mutex> lock(registry_mu);
    mine = &registry().emplace_back();
  }
  return *mine;
}

// Growth headroom against many small growths, capped so a large request does not reserve
// a large unused tail as well.
constexpr size_t kMaxHeadroom = size_t{64} << 20;

}  // namespace

void* scratch(size_t bytes) {
  Block& b = my_block();
  std::lock_guard<std::mutex> lock(registry_mu);
  if (b.buffer.bytes() < bytes) {
    b.buffer = DeviceBuffer<unsigned char>();  // free first: the old and new blocks need not coexist
    b.buffer = DeviceBuffer<unsigned char>(bytes + std::min(bytes / 4, kMaxHeadroom));
  }
  return b.buffer.get();
}

ScratchUse::ScratchUse() { my_block().busy.fetch_add(1); }
ScratchUse::~ScratchUse() { my_block().busy.fetch_sub(1); }

size_t scratch_bytes() {
  std::lock_guard<std::mutex> lock(registry_mu);
  size_t total = 0;
  for (const Block& b : registry()) total += b.buffer.bytes();
  return total;
}

void release_idle_scratch() {
  std::lock_guard<std::mutex> lock(registry_mu);
  // cudaFree waits for the device to finish the work already queued, so kernels that still
  // read a block when its op returned are done before the memory goes.
  for (Block& b : registry())
    if (b.busy.load() == 0) b.buffer = DeviceBuffer<unsigned char>();
}

void copy_to_device(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  HG_CUDA_CHECK(cudaMemcpy(dst, host_src, bytes, cudaMemcpyHostToDevice));
}

}  // namespace cuda
}  // namespace hg
