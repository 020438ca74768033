#include "kernels/cpu/host_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "tensor/ops.h"

namespace subtb::cpu {
namespace {

TEST(HostAllocator, AlignedWritableAndReusedForLargeBlocks) {
  HostAllocator a;
  for (size_t n : {size_t{1}, size_t{63}, size_t{64}, size_t{1000}, size_t{3} << 20}) {
    void* p = a.allocate(n);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << n;
    std::memset(p, 0xab, n);  // the whole request is usable (ASan would flag an overrun)
    a.deallocate(p);
  }
  EXPECT_EQ(a.cached_bytes(), size_t{3} << 20);  // only the large block is kept
  void* big = a.allocate((size_t{3} << 20) - 100);  // about the same size: reused
  EXPECT_EQ(a.cached_bytes(), 0u);
  void* other = a.allocate(size_t{8} << 20);  // larger than anything cached: fresh
  a.deallocate(big);
  a.deallocate(other);
  EXPECT_EQ(a.cached_bytes(), size_t{11} << 20);
  a.set_cache_cap(size_t{4} << 20);  // over the cap: the cache is emptied
  EXPECT_EQ(a.cached_bytes(), 0u);
  void* p = a.allocate(size_t{8} << 20);
  a.deallocate(p);  // 8 MiB is over the 4 MiB cap: freed, not cached
  EXPECT_EQ(a.cached_bytes(), 0u);
}

TEST(HostAllocator, TensorsRecycleLargeBuffers) {
  host_allocator().release_cached();
  const void* first;
  {
    Tensor t = zeros({1 << 20});  // 4 MiB
    first = t.raw_data();
  }
  EXPECT_GE(host_allocator().cached_bytes(), size_t{4} << 20);
  Tensor u = ones({1 << 20});
  EXPECT_EQ(u.raw_data(), first);
  EXPECT_EQ(u.to_vector<float>()[12345], 1.0f);
}

}  // namespace
}  // namespace subtb::cpu
