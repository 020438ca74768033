// The CUDA backend's device plumbing: device discovery, the stream, cuBLAS, memory, pinned
// staging buffers and the launch check.
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
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

namespace {

bool sync_debug() {
  static const bool on = [] {
    const char* v = std::getenv("SUBTB_CUDA_SYNC_DEBUG");
    return v != nullptr && std::strcmp(v, "") != 0 && std::strcmp(v, "0") != 0;
  }();
  return on;
}

// cuBLAS wants 32 MiB of workspace on Hopper for its fastest kernels.
constexpr size_t kCublasWorkspace = size_t{32} << 20;

}  // namespace

void check_launch(const char* kernel, cudaStream_t stream) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && sync_debug()) err = cudaStreamSynchronize(stream);
  if (err != cudaSuccess) {
    SUBTB_THROW(kernel, ": CUDA kernel failed: ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")",
                sync_debug() ? "" : "; set SUBTB_CUDA_SYNC_DEBUG=1 to find the op that caused an asynchronous error");
  }
}

DeviceGuard::DeviceGuard(int index) : target_(index) {
  cudaGetDevice(&previous_);
  if (previous_ != index) SUBTB_CUDA_CHECK(cudaSetDevice(index));
}

DeviceGuard::~DeviceGuard() {
  if (previous_ != target_) cudaSetDevice(previous_);
}

// The stream is a blocking one: work that code elsewhere queues on the legacy default
// stream still runs in order with it. It is never destroyed (the backends live until exit,
// past the point where the runtime may already have shut down).
CudaBackend::CudaBackend(int index) : index_(index), allocator_(index) {
  DeviceGuard guard(index_);
  SUBTB_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamDefault));
  SUBTB_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, index_));
}

void* CudaBackend::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  DeviceGuard guard(index_);
  return allocator_.allocate(nbytes, stream_);
}

void CudaBackend::deallocate(void* ptr, size_t) { allocator_.deallocate(ptr); }

void CudaBackend::synchronize() {
  DeviceGuard guard(index_);
  SUBTB_CUDA_CHECK(cudaDeviceSynchronize());
}

cublasHandle_t CudaBackend::cublas() {
  std::call_once(cublas_once_, [this] {
    DeviceGuard guard(index_);
    SUBTB_CUBLAS_CHECK(cublasCreate(&cublas_));
    SUBTB_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
    SUBTB_CUBLAS_CHECK(cublasSetWorkspace(cublas_, allocator_.allocate(kCublasWorkspace, stream_), kCublasWorkspace));
  });
  return cublas_;
}

void* CudaBackend::staging(size_t nbytes) {
  DeviceGuard guard(index_);
  if (staging_free_ == nullptr) {
    SUBTB_CUDA_CHECK(cudaEventCreateWithFlags(&staging_free_, cudaEventDisableTiming));
  } else {
    SUBTB_CUDA_CHECK(cudaEventSynchronize(staging_free_));
  }
  if (nbytes > staging_bytes_) {
    if (staging_ != nullptr) SUBTB_CUDA_CHECK(cudaFreeHost(staging_));
    staging_ = nullptr;
    staging_bytes_ = 0;
    SUBTB_CUDA_CHECK(cudaMallocHost(&staging_, nbytes));
    staging_bytes_ = nbytes;
  }
  return staging_;
}

void CudaBackend::staging_queued() { SUBTB_CUDA_CHECK(cudaEventRecord(staging_free_, stream_)); }

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
