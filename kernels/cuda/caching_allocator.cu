#include <algorithm>
#include <bit>
#include <cstdio>
#include <string>

#include "kernels/cuda/caching_allocator.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace subtb::cuda {

namespace {

constexpr size_t kMinBlock = 512;  // also keeps every block 512-byte aligned in size
constexpr int kClassesPerOctave = 8;

std::string format_bytes(size_t n) {
  char buf[64];
  const double x = static_cast<double>(n);
  if (n >= (size_t{1} << 30)) {
    std::snprintf(buf, sizeof buf, "%.2f GiB", x / (1 << 30));
  } else if (n >= (size_t{1} << 20)) {
    std::snprintf(buf, sizeof buf, "%.2f MiB", x / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%zu bytes", n);
  }
  return buf;
}

}  // namespace

size_t CachingAllocator::round_size(size_t nbytes) {
  if (nbytes <= kMinBlock) return kMinBlock;
  // Octave [2^k, 2^(k+1)) splits into kClassesPerOctave equal steps (at most 12.5% waste).
  const size_t octave = std::bit_floor(nbytes);
  const size_t step = std::max(octave / kClassesPerOctave, kMinBlock);
  return (nbytes + step - 1) / step * step;
}

void* CachingAllocator::take_cached(size_t size, cudaStream_t stream) {
  auto it = free_.lower_bound({key_of(stream), size});
  if (it == free_.end() || it->first.first != key_of(stream) || it->first.second > 2 * size) return nullptr;
  void* p = it->second;
  free_.erase(it);
  return p;
}

void* CachingAllocator::malloc_device(size_t size) {
  if (cap_ != 0 && reserved_ + size > cap_) return nullptr;
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, size);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear the error so that the next call does not see it
    return nullptr;
  }
  SUBTB_CUDA_CHECK(err);
  return p;
}

void CachingAllocator::release_cached_locked() {
  for (const auto& [key, p] : free_) {
    cudaFree(p);  // waits for the device: work that used the block has finished
    blocks_.erase(p);
    reserved_ -= key.second;
  }
  free_.clear();
}

void* CachingAllocator::allocate(size_t nbytes, cudaStream_t stream) {
  if (nbytes == 0) return nullptr;
  const size_t size = round_size(nbytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* p = take_cached(size, stream);
  size_t got = 0;
  if (p != nullptr) {
    got = blocks_.at(p).size;
  } else {
    p = malloc_device(size);
    if (p == nullptr) {  // the cache may hold what is missing: give it back and retry once
      release_cached_locked();
      p = malloc_device(size);
    }
    if (p == nullptr) {
      size_t free_bytes = 0, total_bytes = 0;
      cudaMemGetInfo(&free_bytes, &total_bytes);
      cudaGetLastError();
      SUBTB_THROW("cuda:", device_, ": out of memory: tried to allocate ", format_bytes(nbytes), " (block of ",
                  format_bytes(size), "); ", format_bytes(allocated_), " allocated, ", format_bytes(reserved_),
                  " reserved by subtb", cap_ != 0 ? ", cap " + format_bytes(cap_) : std::string(), "; the device has ",
                  format_bytes(free_bytes), " free of ", format_bytes(total_bytes));
    }
    got = size;
    blocks_.emplace(p, Block{size, stream});
    reserved_ += size;
  }
  allocated_ += got;
  peak_ = std::max(peak_, allocated_);
  return p;
}

void CachingAllocator::deallocate(void* ptr) noexcept {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = blocks_.find(ptr);
  if (it == blocks_.end()) return;  // not ours: nothing sensible to do in a destructor
  allocated_ -= it->second.size;
  free_.emplace(FreeKey{key_of(it->second.stream), it->second.size}, ptr);
}

void CachingAllocator::empty_cache() {
  DeviceGuard guard(device_);
  std::lock_guard<std::mutex> lock(mutex_);
  release_cached_locked();
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {allocated_, reserved_, peak_, cap_};
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  peak_ = allocated_;
}

void CachingAllocator::set_cap(size_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  cap_ = bytes;
}

// ----- the public accounting API (tensor/device_memory.h) for CUDA devices

namespace {
CudaBackend& backend_at(int index) { return *static_cast<CudaBackend*>(get_backend(index)); }
}  // namespace

MemoryStats memory_stats(int index) { return backend_at(index).allocator().stats(); }
void reset_peak_memory(int index) { backend_at(index).allocator().reset_peak(); }
void set_memory_cap(int index, size_t bytes) { backend_at(index).allocator().set_cap(bytes); }
void empty_cache(int index) { backend_at(index).allocator().empty_cache(); }

}  // namespace subtb::cuda
