// CPU memory: 64-byte aligned buffers, strided copies with dtype conversion, fills.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/host_allocator.h"
#include "kernels/cpu/loops.h"

namespace subtb::cpu {

CpuBackend& cpu_backend() {
  static CpuBackend instance;
  return instance;
}

void* CpuBackend::allocate(size_t nbytes) { return host_allocator().allocate(nbytes); }

void CpuBackend::deallocate(void* ptr, size_t) { host_allocator().deallocate(ptr); }

namespace {

// Elementwise conversion between any two dtypes, going through the wider compute type.
template <class To, class From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return static_cast<compute_t<From>>(v) != compute_t<From>(0);
  } else if constexpr (std::is_same_v<From, BFloat16> || std::is_same_v<From, Half>) {
    return static_cast<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, BFloat16> || std::is_same_v<To, Half>) {
    return To(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace

void CpuBackend::copy(const Tensor& src, const Tensor& dst) {
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    std::memcpy(dst.raw_data(), src.raw_data(), src.numel() * src.itemsize());
    return;
  }
  visit_dtype(dst.dtype(), [&]<class To>() {
    visit_dtype(src.dtype(), [&]<class From>() {
      map<To, From>(dst, [](From v) { return convert<To>(v); }, src);
    });
  });
}

void CpuBackend::copy_to_host(const Tensor& src, void* host_ptr) {
  const Tensor dst = make_view(src, src.shape(), contiguous_strides(src.shape()), 0);
  // Wrap the host buffer in a borrowed storage so that the strided copy can write it.
  Tensor host(std::make_shared<TensorImpl>(*dst.impl()));
  host.impl()->storage = std::make_shared<Storage>(host_ptr, src.numel() * src.itemsize(), kCPU, nullptr);
  copy(src, host);
}

void CpuBackend::copy_from_host(const void* host_ptr, const Tensor& dst) {
  Tensor host(std::make_shared<TensorImpl>(*dst.impl()));
  host.impl()->storage = std::make_shared<Storage>(const_cast<void*>(host_ptr), dst.numel() * dst.itemsize(),
                                                   kCPU, nullptr);
  host.impl()->strides = contiguous_strides(dst.shape());
  host.impl()->offset = 0;
  copy(host, dst);
}

void CpuBackend::fill(const Tensor& dst, double value) {
  visit_dtype(dst.dtype(), [&]<class T>() {
    const T v = convert<T>(value);
    map<T>(dst, [v]() { return v; });
  });
}

void CpuBackend::iota(const Tensor& dst, double start, double step) {
  visit_dtype(dst.dtype(), [&]<class T>() {
    T* p = dst.data<T>();
    const int64_t n = dst.numel();
    for (int64_t i = 0; i < n; ++i) p[i] = convert<T>(start + static_cast<double>(i) * step);
  });
}

}  // namespace subtb::cpu
