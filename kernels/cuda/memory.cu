// Data movement on the GPU: strided copies with dtype conversion, fills, iota, and the
// transfers to and from the host.
//
// Transfers up to kStagingMax bytes go through the device's pinned staging buffer: a
// pinned copy is a single DMA, and an upload returns without waiting for it (the next user
// of the buffer waits instead). Larger ones go straight from or to the caller's pageable
// memory, where the driver's own pipelined staging beats a second host copy.
#include <cuda_runtime.h>

#include <cstring>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/loops.cuh"
#include "kernels/cuda/rows.cuh"

namespace subtb::cuda {

namespace {

constexpr size_t kStagingMax = size_t{4} << 20;

template <class To, class From>
struct Convert {
  __device__ To operator()(From v) const { return convert<To>(v); }
};

template <class T>
struct Constant {
  T value;
  __device__ T operator()() const { return value; }
};

// start + i * step rounded twice, as on the CPU (nvcc would otherwise fuse it into an FMA).
template <class T>
__global__ void iota_kernel(T* out, int64_t n, double start, double step) {
  for (int64_t i = global_thread(); i < n; i += global_threads())
    out[i] = convert<T>(__dadd_rn(start, __dmul_rn(static_cast<double>(i), step)));
}

}  // namespace

Tensor contiguous_on_device(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = make_tensor(t.shape(), t.dtype(), t.device());
  backend(t.device()).copy(t, out);
  return out;
}

void CudaBackend::copy(const Tensor& src, const Tensor& dst) {
  DeviceGuard guard(index_);
  if (src.numel() == 0) return;
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    SUBTB_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data(), src.raw_data(), src.numel() * src.itemsize(),
                                     cudaMemcpyDeviceToDevice, stream_));
    return;
  }
  visit_dtype(dst.dtype(), [&]<class To>() {
    visit_dtype(src.dtype(), [&]<class From>() { map<To, From>(stream_, "copy", dst, Convert<To, From>{}, src); });
  });
}

void CudaBackend::copy_to_host(const Tensor& src, void* host_ptr) {
  DeviceGuard guard(index_);
  const size_t nbytes = src.numel() * src.itemsize();
  if (nbytes == 0) return;
  const Tensor packed = contiguous_on_device(src);
  if (nbytes > kStagingMax) {
    SUBTB_CUDA_CHECK(cudaMemcpyAsync(host_ptr, packed.raw_data(), nbytes, cudaMemcpyDeviceToHost, stream_));
    SUBTB_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return;
  }
  std::lock_guard<std::mutex> lock(staging_mutex_);
  void* buf = staging(nbytes);
  SUBTB_CUDA_CHECK(cudaMemcpyAsync(buf, packed.raw_data(), nbytes, cudaMemcpyDeviceToHost, stream_));
  SUBTB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  std::memcpy(host_ptr, buf, nbytes);
}

void CudaBackend::copy_from_host(const void* host_ptr, const Tensor& dst) {
  DeviceGuard guard(index_);
  const size_t nbytes = dst.numel() * dst.itemsize();
  if (nbytes == 0) return;
  const Tensor packed = dst.is_contiguous() ? dst : make_tensor(dst.shape(), dst.dtype(), dst.device());
  if (nbytes > kStagingMax) {
    // From pageable memory the call returns once the driver has taken the data, so the
    // caller may free host_ptr afterwards.
    SUBTB_CUDA_CHECK(cudaMemcpyAsync(packed.raw_data(), host_ptr, nbytes, cudaMemcpyHostToDevice, stream_));
  } else {
    std::lock_guard<std::mutex> lock(staging_mutex_);
    void* buf = staging(nbytes);
    std::memcpy(buf, host_ptr, nbytes);
    SUBTB_CUDA_CHECK(cudaMemcpyAsync(packed.raw_data(), buf, nbytes, cudaMemcpyHostToDevice, stream_));
    staging_queued();
  }
  if (!packed.is_same(dst)) copy(packed, dst);
}

void CudaBackend::fill(const Tensor& dst, double value) {
  DeviceGuard guard(index_);
  visit_dtype(dst.dtype(), [&]<class T>() {
    // The value converts on the host exactly as the CPU converts it.
    T v;
    if constexpr (std::is_same_v<T, bool>) {
      v = value != 0.0;
    } else if constexpr (std::is_same_v<T, BFloat16> || std::is_same_v<T, Half>) {
      v = T(static_cast<float>(value));
    } else {
      v = static_cast<T>(value);
    }
    map<T>(stream_, "fill", dst, Constant<T>{v});
  });
}

void CudaBackend::iota(const Tensor& dst, double start, double step) {
  DeviceGuard guard(index_);
  const int64_t n = dst.numel();
  if (n == 0) return;
  visit_dtype(dst.dtype(), [&]<class T>() {
    iota_kernel<T><<<grid_for(n), kThreads, 0, stream_>>>(static_cast<T*>(dst.raw_data()), n, start, step);
  });
  check_launch("iota", stream_);
}

}  // namespace subtb::cuda
