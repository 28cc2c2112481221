// Temporary device memory for the engine's ops (attention workspaces, the encoder's token
// buckets, the optimizer's chunk list), so no op allocates per call in steady state.
#pragma once
#include <cstddef>

namespace hg {
namespace cuda {

// At least `bytes` of device memory (256-byte aligned) owned by the calling host thread, valid
// until that thread's next scratch() call. Reuse is safe because the engine enqueues all work
// on the legacy default stream from its thread, in order; growing frees the old block with
// cudaFree, which waits for the work still using it. Throws naming the size when out of memory.
// Bounded: one block per host thread (the libuv pool and the main thread), each sized to the
// largest request plus at most 64 MiB; release_idle_scratch() (core/cuda_api.h) frees the
// blocks of threads that are not inside an op (model dispose() calls it).
void* scratch(size_t bytes);

// Blocking host -> device copy (the host buffer may be released as soon as it returns).
void copy_to_device(void* dst, const void* host_src, size_t bytes);

}  // namespace cuda
}  // namespace hg
