#include "kernels/cpu/host_allocator.h"

#include <cstdlib>

#include "tensor/error.h"

namespace subtb::cpu {

namespace {

constexpr uintptr_t kAlignment = 64;

// Every buffer is preceded by two words: the pointer malloc returned and the buffer's
// capacity. malloc aligns to 16, so the aligned buffer starts 16 to 64 bytes into the
// block: always room for both.
struct Header {
  void* raw;
  size_t capacity;
};
Header& header_of(void* p) { return static_cast<Header*>(p)[-1]; }

void* malloc_aligned(size_t capacity) {
  void* raw = std::malloc(capacity + kAlignment);
  SUBTB_CHECK(raw != nullptr, "cpu allocator: out of memory allocating ", capacity, " bytes");
  void* p = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(raw) + kAlignment) & ~(kAlignment - 1));
  header_of(p) = {raw, capacity};
  return p;
}

// Large requests are rounded to 64 KiB so that nearby sizes share cached blocks.
size_t capacity_for(size_t nbytes) {
  const size_t lines = (std::max<size_t>(nbytes, 1) + kAlignment - 1) & ~(kAlignment - 1);
  if (lines < HostAllocator::kLargeBlock) return lines;
  constexpr size_t kGranule = size_t{64} << 10;
  return (lines + kGranule - 1) & ~(kGranule - 1);
}

}  // namespace

void* HostAllocator::allocate(size_t nbytes) {
  const size_t capacity = capacity_for(nbytes);
  if (capacity >= kLargeBlock) {
    std::lock_guard lock(mutex_);
    // The smallest cached block that fits, if it wastes at most a quarter.
    auto it = cached_.lower_bound(capacity);
    if (it != cached_.end() && it->first <= capacity + capacity / 4) {
      void* p = it->second;
      cached_bytes_ -= it->first;
      cached_.erase(it);
      return p;
    }
  }
  return malloc_aligned(capacity);
}

void HostAllocator::deallocate(void* ptr) {
  if (ptr == nullptr) return;
  const Header h = header_of(ptr);
  if (h.capacity >= kLargeBlock) {
    std::lock_guard lock(mutex_);
    if (cached_bytes_ + h.capacity <= cap_) {
      cached_.emplace(h.capacity, ptr);
      cached_bytes_ += h.capacity;
      return;
    }
  }
  std::free(h.raw);
}

void HostAllocator::release_cached() {
  std::lock_guard lock(mutex_);
  for (auto& [capacity, p] : cached_) std::free(header_of(p).raw);
  cached_.clear();
  cached_bytes_ = 0;
}

size_t HostAllocator::cached_bytes() const {
  std::lock_guard lock(mutex_);
  return cached_bytes_;
}

void HostAllocator::set_cache_cap(size_t bytes) {
  {
    std::lock_guard lock(mutex_);
    cap_ = bytes;
  }
  if (cached_bytes() > bytes) release_cached();
}

HostAllocator::~HostAllocator() { release_cached(); }

HostAllocator& host_allocator() {
  // Never destroyed: tensors in static storage may be freed after this would be.
  static HostAllocator* instance = new HostAllocator();
  return *instance;
}

}  // namespace subtb::cpu
