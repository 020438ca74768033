// The CUDA caching allocator's accounting (tensor/device_memory.h): a repeated step reuses
// its blocks instead of reserving more, the peak counts what was live at once, and the cap
// turns an allocation that would pass it into an error that says what was asked for and
// what is held. The CUDA cases skip without a GPU; the CPU's answers are checked everywhere.
#include "tensor/device_memory.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

const Device kGpu = cuda_device(0);
constexpr size_t kMiB = size_t{1} << 20;

// An uninitialised f32 tensor of `mib` MiB on the GPU.
Tensor mebibytes(int64_t mib) { return empty(Shape{mib << 18}, DType::f32, kGpu); }

// A small training-like step: matmul, activation, softmax, reduction and backward, each
// with its temporaries.
double step(const Tensor& x, const Tensor& w) {
  Tensor wl = w.detach();
  wl.requires_grad_();
  Tensor y = log_softmax(relu(matmul(x, wl)), -1);
  Tensor loss = mean(y);
  loss.backward();
  return loss.item();
}

TEST(CudaAllocator, RepeatedStepsReserveNothingNew) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  const Tensor x = randn(Shape{256, 512}, DType::f32, kGpu);
  const Tensor w = randn(Shape{512, 384}, DType::f32, kGpu);
  for (int i = 0; i < 3; ++i) step(x, w);  // first-use buffers (cuBLAS workspace) settle
  const MemoryStats before = memory_stats(kGpu);
  for (int i = 0; i < 20; ++i) {
    step(x, w);
    const MemoryStats now = memory_stats(kGpu);
    ASSERT_EQ(now.reserved_bytes, before.reserved_bytes) << "step " << i;
    ASSERT_EQ(now.allocated_bytes, before.allocated_bytes) << "step " << i;
  }
}

TEST(CudaAllocator, PeakCountsWhatWasLiveAtOnce) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  empty_cache(kGpu);  // so that no cached block from an earlier test serves these
  reset_peak_memory(kGpu);
  const size_t base = memory_stats(kGpu).allocated_bytes;
  EXPECT_EQ(memory_stats(kGpu).peak_allocated_bytes, base);
  {
    const Tensor a = mebibytes(4);
    const Tensor b = mebibytes(4);
    EXPECT_EQ(memory_stats(kGpu).allocated_bytes, base + 8 * kMiB);
  }
  const Tensor c = mebibytes(4);  // reuses a freed block
  const MemoryStats s = memory_stats(kGpu);
  EXPECT_EQ(s.allocated_bytes, base + 4 * kMiB);
  EXPECT_EQ(s.peak_allocated_bytes, base + 8 * kMiB);
  EXPECT_GE(s.reserved_bytes, s.allocated_bytes);
  reset_peak_memory(kGpu);
  EXPECT_EQ(memory_stats(kGpu).peak_allocated_bytes, base + 4 * kMiB);
}

TEST(CudaAllocator, SizesRoundToClassesSoNearbyRequestsShareBlocks) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  empty_cache(kGpu);
  const size_t base = memory_stats(kGpu).allocated_bytes;
  {
    const Tensor a = empty(Shape{1000}, DType::b8, kGpu);  // 1000 bytes -> a 1 KiB class
    EXPECT_EQ(memory_stats(kGpu).allocated_bytes, base + 1024);
  }
  const size_t reserved = memory_stats(kGpu).reserved_bytes;
  const Tensor b = empty(Shape{1010}, DType::b8, kGpu);  // same class: the cached block
  EXPECT_EQ(memory_stats(kGpu).reserved_bytes, reserved);
}

TEST(CudaAllocator, CapTurnsAnAllocationIntoAClearError) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  empty_cache(kGpu);
  const MemoryStats s = memory_stats(kGpu);
  set_memory_cap(kGpu, s.reserved_bytes + 16 * kMiB);
  EXPECT_EQ(memory_stats(kGpu).cap_bytes, s.reserved_bytes + 16 * kMiB);
  {
    const Tensor fits = mebibytes(8);
    EXPECT_THROW_MSG(mebibytes(16), "cuda:0: out of memory", "tried to allocate 16.00 MiB", "allocated", "reserved",
                     "cap");
  }
  // Freed memory in the cache is released to make room before giving up.
  const Tensor after = mebibytes(12);
  EXPECT_EQ(after.numel(), int64_t{12} << 18);
  set_memory_cap(kGpu, 0);
  EXPECT_EQ(memory_stats(kGpu).cap_bytes, 0u);
}

TEST(CudaAllocator, EmptyCacheReturnsFreeBlocks) {
  SUBTB_SKIP_WITHOUT_DEVICE(kGpu);
  { const Tensor t = mebibytes(16); }
  empty_cache(kGpu);
  const MemoryStats s = memory_stats(kGpu);
  EXPECT_EQ(s.reserved_bytes, s.allocated_bytes);
}

TEST(DeviceMemory, CpuKeepsNoCountersAndSaysSo) {
  EXPECT_THROW_MSG(memory_stats(kCPU), "memory_stats", "cpu", "CUDA");
  EXPECT_THROW_MSG(set_memory_cap(kCPU, 1 << 20), "set_memory_cap", "cpu");
  EXPECT_THROW_MSG(reset_peak_memory(kCPU), "reset_peak_memory", "cpu");
  EXPECT_NO_THROW(empty_cache(kCPU));
}

}  // namespace
}  // namespace subtb
