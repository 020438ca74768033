// Indexing CUDA kernels. As on the CPU (kernels/cpu/indexing.cpp), the index tensor is
// seen with the data's shape: index_select's 1-d index becomes a view with stride 0 off
// `dim`, so index_select shares gather's kernel and index_add shares scatter_add's.
//
// The accumulating kernels take one of two paths:
//  - default: a thread per source element, adding with atomics (fast; the order of the
//    additions, and so the rounding of floats, varies from run to run);
//  - deterministic() (tensor/settings.h): a thread per output fiber (a line along `dim`)
//    adds its sources in index order, the CPU's order, so the bits are the same on every
//    run and match the CPU's.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/loops.cuh"
#include "tensor/settings.h"

namespace subtb::cuda {

namespace {

// A 1-d index along `dim` seen with `shape`: stride 0 on every other dim.
Tensor index_along(const Tensor& index, int dim, const Shape& shape) {
  Strides strides = Shape::filled(shape.size(), 0);
  strides[dim] = index.strides()[0];
  return make_view(index, shape, strides, index.offset());
}

// out[p] = x[p with p[dim] replaced by index[p]]: operands (out, index, x with stride 0
// along dim), x_step = x's stride along dim.
template <class T>
__global__ void gather_kernel(int64_t n, OffsetCalc<3> calc, T* out, const int64_t* index, const T* x, int64_t x_step) {
  for (int64_t i = global_thread(); i < n; i += global_threads()) {
    int64_t off[3];
    calc.offsets(i, off);
    out[off[0]] = x[off[2] + index[off[1]] * x_step];
  }
}

template <class T>
void gather_impl(CudaBackend& be, const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  Strides x_strides = x.strides();
  const int64_t x_step = x.dim() == 0 ? 0 : x_strides[dim];
  if (x.dim() > 0) x_strides[dim] = 0;
  const auto calc = make_offset_calc<3>(out.shape(), {&out.strides(), &index.strides(), &x_strides});
  gather_kernel<T><<<grid_for(n), kThreads, 0, be.stream()>>>(
      n, calc, static_cast<T*>(out.raw_data()), index.data<int64_t>(), static_cast<const T*>(x.raw_data()), x_step);
  check_launch("gather", be.stream());
}

// *p += v with an atomic of T's width (integers wrap; 16-bit floats round per add).
template <class T>
__device__ __forceinline__ void atomic_add(T* p, T v) {
  if constexpr (std::is_same_v<T, BFloat16>) {
    atomicAdd(reinterpret_cast<__nv_bfloat16*>(p), __float2bfloat16(static_cast<float>(v)));
  } else if constexpr (std::is_same_v<T, Half>) {
    atomicAdd(reinterpret_cast<__half*>(p), __float2half(static_cast<float>(v)));
  } else if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else {
    atomicAdd(p, v);
  }
}

// Operands (out with stride 0 along dim, index, src) over src's shape; out_step = out's
// stride along dim.
template <class T>
__global__ void scatter_add_atomic_kernel(int64_t n, OffsetCalc<3> calc, T* out, const int64_t* index, const T* src,
                                          int64_t out_step) {
  for (int64_t i = global_thread(); i < n; i += global_threads()) {
    int64_t off[3];
    calc.offsets(i, off);
    atomic_add(out + off[0] + index[off[1]] * out_step, src[off[2]]);
  }
}

// One thread per fiber (src's shape with dim collapsed), adding in index order.
template <class T>
__global__ void scatter_add_fiber_kernel(int64_t fibers, OffsetCalc<3> calc, T* out, const int64_t* index, const T* src,
                                         int64_t length, int64_t out_step, int64_t index_step, int64_t src_step) {
  using C = compute_t<T>;
  for (int64_t i = global_thread(); i < fibers; i += global_threads()) {
    int64_t off[3];
    calc.offsets(i, off);
    for (int64_t k = 0; k < length; ++k) {
      T& dst = out[off[0] + index[off[1] + k * index_step] * out_step];
      dst = T(static_cast<C>(static_cast<C>(dst) + static_cast<C>(src[off[2] + k * src_step])));
    }
  }
}

template <class T>
void scatter_add_impl(CudaBackend& be, const char* name, const Tensor& out, int dim, const Tensor& index,
                      const Tensor& src) {
  if (src.numel() == 0) return;
  if (src.dim() == 0) dim = 0;
  const int64_t out_step = out.dim() == 0 ? 0 : out.strides()[dim];
  Strides out_strides = out.strides();
  if (out.dim() > 0) out_strides[dim] = 0;
  T* o = static_cast<T*>(out.raw_data());
  const T* s = static_cast<const T*>(src.raw_data());
  if (!deterministic() || src.dim() == 0) {
    const int64_t n = src.numel();
    const auto calc = make_offset_calc<3>(src.shape(), {&out_strides, &index.strides(), &src.strides()});
    scatter_add_atomic_kernel<T>
        <<<grid_for(n), kThreads, 0, be.stream()>>>(n, calc, o, index.data<int64_t>(), s, out_step);
  } else {
    Shape fibers = src.shape();
    const int64_t length = fibers[dim];
    fibers[dim] = 1;
    const auto calc = make_offset_calc<3>(fibers, {&out_strides, &index.strides(), &src.strides()});
    const int64_t n = fibers.numel();
    scatter_add_fiber_kernel<T><<<grid_for(n), kThreads, 0, be.stream()>>>(
        n, calc, o, index.data<int64_t>(), s, length, out_step, index.strides()[dim], src.strides()[dim]);
  }
  check_launch(name, be.stream());
}

}  // namespace

void CudaBackend::gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  DeviceGuard guard(index_);
  visit_dtype(x.dtype(), [&]<class T>() { gather_impl<T>(*this, x, dim, index, out); });
}

void CudaBackend::index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  DeviceGuard guard(index_);
  visit_dtype(x.dtype(), [&]<class T>() { gather_impl<T>(*this, x, dim, index_along(index, dim, out.shape()), out); });
}

void CudaBackend::scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  DeviceGuard guard(index_);
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      SUBTB_THROW("scatter_add: cannot accumulate into ", describe(out));
    } else {
      scatter_add_impl<T>(*this, "scatter_add", out, dim, index, src);
    }
  });
}

void CudaBackend::index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  DeviceGuard guard(index_);
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>) {
      SUBTB_THROW("index_add: cannot accumulate into ", describe(out));
    } else {
      scatter_add_impl<T>(*this, "index_add", out, dim, index_along(index, dim, src.shape()), src);
    }
  });
}

}  // namespace subtb::cuda
