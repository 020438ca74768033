#include "tensor/device_memory.h"

#include "kernels/backend.h"
#include "kernels/cpu/host_allocator.h"

namespace subtb {

#ifdef SUBTB_WITH_CUDA
namespace cuda {  // kernels/cuda/caching_allocator.cu
MemoryStats memory_stats(int index);
void reset_peak_memory(int index);
void set_memory_cap(int index, size_t bytes);
void empty_cache(int index);
}  // namespace cuda
#endif

namespace {

// The CUDA device's index, after checking that it exists in this build; the CPU has no
// counters to report, which the error says.
int counted_device(Device device, const char* what) {
  SUBTB_CHECK(device.is_cuda(), what, ": ", device,
              " keeps no allocation counters (they are kept per CUDA device, e.g. cuda:0)");
  backend(device);  // throws for a build without CUDA or a device that does not exist
  return device.index;
}

}  // namespace

MemoryStats memory_stats(Device device) {
  [[maybe_unused]] const int index = counted_device(device, "memory_stats");
#ifdef SUBTB_WITH_CUDA
  return cuda::memory_stats(index);
#else
  return {};
#endif
}

void reset_peak_memory(Device device) {
  [[maybe_unused]] const int index = counted_device(device, "reset_peak_memory");
#ifdef SUBTB_WITH_CUDA
  cuda::reset_peak_memory(index);
#endif
}

void set_memory_cap(Device device, size_t bytes) {
  [[maybe_unused]] const int index = counted_device(device, "set_memory_cap");
#ifdef SUBTB_WITH_CUDA
  cuda::set_memory_cap(index, bytes);
#else
  (void)bytes;
#endif
}

void empty_cache(Device device) {
  if (device.is_cpu()) {
    cpu::host_allocator().release_cached();
    return;
  }
  [[maybe_unused]] const int index = counted_device(device, "empty_cache");
#ifdef SUBTB_WITH_CUDA
  cuda::empty_cache(index);
#endif
}

}  // namespace subtb
