#pragma once
// The per-device caching allocator. cudaMalloc and cudaFree are slow (cudaFree also waits
// for the whole device), and a training step allocates the same temporaries every step, so
// freed blocks are kept and handed out again:
//  - sizes round up to a size class (512 B, then eight classes per power of two), so that
//    repeated requests of about the same size land on the same blocks;
//  - a request takes the smallest free block of at least its class (best fit), but not one
//    more than twice its size, which would waste the rest;
//  - every block is tagged with the stream it was allocated for. A block freed on a stream
//    may be reused at once by that stream, since the stream runs its work in order (the
//    free is "stream ordered"); other streams never see it.
// Counters: allocated (blocks held by tensors), reserved (obtained from the driver) and the
// peak of allocated. A cap limits reserved memory. When cudaMalloc fails or the cap would
// be passed, the cache is released and the request retried once before an error that says
// how much was asked for, allocated and reserved.
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "tensor/device_memory.h"

namespace subtb::cuda {

class CachingAllocator {
 public:
  explicit CachingAllocator(int device) : device_(device) {}
  // Memory of the device is left to the driver at exit: freeing it from a static
  // destructor may run after the CUDA runtime has shut down.
  ~CachingAllocator() = default;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // The caller has made the allocator's device current.
  void* allocate(size_t nbytes, cudaStream_t stream);
  // Never throws (it runs when tensors die, in destructors).
  void deallocate(void* ptr) noexcept;

  void empty_cache();
  MemoryStats stats() const;
  void reset_peak();
  void set_cap(size_t bytes);

  // The size class of a request: what a block serving it holds.
  static size_t round_size(size_t nbytes);

 private:
  struct Block {
    size_t size;
    cudaStream_t stream;
  };
  // Free blocks by (stream, size): a lower_bound finds the best fit on a stream.
  using FreeKey = std::pair<uintptr_t, size_t>;
  static uintptr_t key_of(cudaStream_t s) { return reinterpret_cast<uintptr_t>(s); }

  void* take_cached(size_t size, cudaStream_t stream);
  void* malloc_device(size_t size);  // nullptr when the driver or the cap refuses
  void release_cached_locked();

  int device_;
  mutable std::mutex mutex_;
  std::multimap<FreeKey, void*> free_;
  std::unordered_map<void*, Block> blocks_;  // every block obtained, free or live
  size_t allocated_ = 0, reserved_ = 0, peak_ = 0, cap_ = 0;
};

}  // namespace subtb::cuda
