#pragma once
// Host memory for CPU tensors: 64-byte aligned buffers (a cache line, and enough for any
// SIMD load), whole cache lines long so that a vector loop may read to the end of the last.
//
// Small buffers come straight from malloc, aligned by hand: glibc serves them from a
// per-thread cache in a few dozen instructions, while aligned_alloc always takes a slow
// path that used to cost a tiny op more than its arithmetic.
//
// Large buffers (>= 1 MiB) are kept after release, up to a cap, and handed out again to
// requests of about the same size: glibc returns blocks above its mmap threshold (at most
// 32 MiB) to the kernel at once, so without this every large temporary of a training step
// would page-fault all of its memory in again.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace subtb::cpu {

class HostAllocator {
 public:
  static constexpr size_t kLargeBlock = size_t{1} << 20;
  static constexpr size_t kDefaultCacheCap = size_t{1} << 30;

  void* allocate(size_t nbytes);
  void deallocate(void* ptr);

  // Frees every cached block.
  void release_cached();
  size_t cached_bytes() const;
  // The most memory kept in the cache (0 disables caching).
  void set_cache_cap(size_t bytes);

  ~HostAllocator();

 private:
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> cached_;  // capacity -> aligned buffer
  size_t cached_bytes_ = 0;
  size_t cap_ = kDefaultCacheCap;
};

HostAllocator& host_allocator();

}  // namespace subtb::cpu
