#pragma once
// Device memory accounting: what a device's allocator holds, its peak, a cap, and a way to
// hand cached memory back. CUDA devices keep these counters in their caching allocator
// (kernels/cuda/caching_allocator.h); the CPU allocator keeps no counters, so asking for
// them on the CPU throws, while empty_cache(cpu) releases the host allocator's cache.
#include <cstddef>

#include "tensor/device.h"

namespace subtb {

struct MemoryStats {
  size_t allocated_bytes = 0;       // held by live tensors (whole size-class blocks)
  size_t reserved_bytes = 0;        // obtained from the driver: allocated + cached
  size_t peak_allocated_bytes = 0;  // the most allocated since creation or reset_peak_memory
  size_t cap_bytes = 0;             // the most that may be reserved; 0: no cap
};

MemoryStats memory_stats(Device device);
// Starts a new peak from the bytes allocated now.
void reset_peak_memory(Device device);
// Limits reserved memory to `bytes` (0 removes the limit). An allocation that would pass the
// cap first releases the cache, then fails with an out-of-memory error.
void set_memory_cap(Device device, size_t bytes);
// Returns every cached, unused block to the driver (or the OS, for the CPU).
void empty_cache(Device device);

}  // namespace subtb
