// The CUDA backend's device plumbing: device discovery, memory and host transfers.
#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"

namespace subtb {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver / no device" error
    return 0;
  }
  return n;
}

namespace cuda {

DeviceGuard::DeviceGuard(int index) : target_(index) {
  cudaGetDevice(&previous_);
  if (previous_ != index) SUBTB_CUDA_CHECK(cudaSetDevice(index));
}

DeviceGuard::~DeviceGuard() {
  if (previous_ != target_) cudaSetDevice(previous_);
}

void* CudaBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  DeviceGuard guard(index_);
  void* p = nullptr;
  SUBTB_CUDA_CHECK(cudaMalloc(&p, nbytes));
  return p;
}

void CudaBackend::deallocate(void* ptr, size_t) {
  if (ptr == nullptr) return;
  DeviceGuard guard(index_);
  cudaFree(ptr);  // never throw on a destructor path
}

void CudaBackend::synchronize() {
  DeviceGuard guard(index_);
  SUBTB_CUDA_CHECK(cudaDeviceSynchronize());
}

void CudaBackend::copy_to_host(const Tensor& src, void* host_ptr) {
  SUBTB_CHECK(src.is_contiguous(), "copy_to_host: a cuda source must be contiguous, got strides ", src.strides());
  DeviceGuard guard(index_);
  SUBTB_CUDA_CHECK(cudaMemcpy(host_ptr, src.raw_data(), src.numel() * src.itemsize(), cudaMemcpyDeviceToHost));
}

void CudaBackend::copy_from_host(const void* host_ptr, const Tensor& dst) {
  SUBTB_CHECK(dst.is_contiguous(), "copy_from_host: a cuda destination must be contiguous, got strides ",
              dst.strides());
  DeviceGuard guard(index_);
  SUBTB_CUDA_CHECK(cudaMemcpy(dst.raw_data(), host_ptr, dst.numel() * dst.itemsize(), cudaMemcpyHostToDevice));
}

Backend* get_backend(int index) {
  static std::once_flag once;
  static std::vector<std::unique_ptr<CudaBackend>> backends;
  std::call_once(once, [] {
    const int n = cuda_device_count();
    for (int i = 0; i < n; ++i) backends.push_back(std::make_unique<CudaBackend>(i));
  });
  SUBTB_CHECK(index >= 0 && index < static_cast<int>(backends.size()), "cuda:", index, ": no such device (",
              backends.size(), " CUDA devices visible)");
  return backends[static_cast<size_t>(index)].get();
}

}  // namespace cuda
}  // namespace subtb
