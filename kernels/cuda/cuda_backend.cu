// The CUDA backend's device plumbing: device discovery, memory and host transfers.
// Kernels for the op families arrive with the CUDA backend work; until then every
// other kernel throws "not implemented on cuda:N" through the Backend defaults.
#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <vector>

#include "kernels/backend.h"
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

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int index) : index_(index) {}
  Device device() const override { return cuda_device(index_); }

  void* allocate(size_t nbytes) override {
    DeviceGuard guard(index_);
    void* p = nullptr;
    if (nbytes == 0) return nullptr;
    SUBTB_CUDA_CHECK(cudaMalloc(&p, nbytes));
    return p;
  }
  void deallocate(void* ptr, size_t) override {
    if (ptr == nullptr) return;
    DeviceGuard guard(index_);
    cudaFree(ptr);  // never throw from a destructor path
  }
  void synchronize() override {
    DeviceGuard guard(index_);
    SUBTB_CUDA_CHECK(cudaDeviceSynchronize());
  }
  void copy_to_host(const Tensor& src, void* host_ptr) override {
    SUBTB_CHECK(src.is_contiguous(), "copy_to_host: cuda source must be contiguous, got strides ", src.strides());
    DeviceGuard guard(index_);
    SUBTB_CUDA_CHECK(cudaMemcpy(host_ptr, src.raw_data(), src.numel() * src.itemsize(), cudaMemcpyDeviceToHost));
  }
  void copy_from_host(const void* host_ptr, const Tensor& dst) override {
    SUBTB_CHECK(dst.is_contiguous(), "copy_from_host: cuda destination must be contiguous");
    DeviceGuard guard(index_);
    SUBTB_CUDA_CHECK(cudaMemcpy(dst.raw_data(), host_ptr, dst.numel() * dst.itemsize(), cudaMemcpyHostToDevice));
  }

 private:
  struct DeviceGuard {
    explicit DeviceGuard(int index) {
      cudaGetDevice(&prev);
      if (prev != index) cudaSetDevice(index);
      target = index;
    }
    ~DeviceGuard() {
      if (prev != target) cudaSetDevice(prev);
    }
    int prev = 0, target = 0;
  };
  int index_;
};

Backend* get_backend(int index) {
  static std::once_flag once;
  static std::vector<std::unique_ptr<CudaBackend>> backends;
  std::call_once(once, [] {
    const int n = cuda_device_count();
    for (int i = 0; i < n; ++i) backends.push_back(std::make_unique<CudaBackend>(i));
  });
  SUBTB_CHECK(index >= 0 && index < static_cast<int>(backends.size()), "cuda:", index,
              ": no such device (", backends.size(), " CUDA devices visible)");
  return backends[static_cast<size_t>(index)].get();
}

}  // namespace cuda
}  // namespace subtb
