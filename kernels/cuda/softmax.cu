// Softmax and log-softmax along one dim, and their backward, on the GPU. Inputs are made
// contiguous and seen as [outer, n, inner] along `dim`:
//  - inner == 1 (the last dim): a block row of threads per row (rows.cuh), online
//    log-sum-exp in one read, then one pass that writes the output;
//  - otherwise: a thread per (outer, inner) column walks its n elements, neighbouring
//    threads reading neighbouring memory.
// The same -inf rules as the CPU (kernels/cpu/softmax.cpp): an all -inf row gives zeros
// (softmax) or -inf (log_softmax), and passes no gradient back through log_softmax.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/rows.cuh"

namespace subtb::cuda {

namespace {

struct RowsLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

RowsLayout rows_layout(const Shape& shape, int dim) {
  RowsLayout l;
  if (shape.size() == 0) return l;
  l.n = shape[dim];
  for (int d = 0; d < dim; ++d) l.outer *= shape[d];
  for (int d = dim + 1; d < shape.size(); ++d) l.inner *= shape[d];
  return l;
}

template <class C, class T>
__device__ __forceinline__ T softmax_value(C x, C max, C inv_sum, C lse, bool log) {
  if (log) return T(lse == -INFINITY ? C(-INFINITY) : x - lse);
  return T(max == -INFINITY ? C(0) : exp(x - max) * inv_sum);
}

template <class T>
__global__ void softmax_rows_kernel(const T* x, T* y, int64_t rows, int64_t n, bool log) {
  using C = float_compute_t<T>;
  __shared__ C scratch[kThreads / 32];
  for_each_block_row(rows, [&](int64_t row, bool valid) {
    const T* xr = x + row * n;
    OnlineLse<C> s{C(-INFINITY), C(0)};
    if (valid)
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s.add(C(xr[j]));
    s = row_lse(s, scratch);
    if (!valid) return;
    const C inv_sum = C(1) / s.sum, lse = s.lse();
    T* yr = y + row * n;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
      yr[j] = softmax_value<C, T>(C(xr[j]), s.max, inv_sum, lse, log);
  });
}

template <class T>
__global__ void softmax_columns_kernel(const T* x, T* y, RowsLayout l, bool log) {
  using C = float_compute_t<T>;
  for (int64_t c = global_thread(); c < l.outer * l.inner; c += global_threads()) {
    const int64_t base = c / l.inner * l.n * l.inner + c % l.inner;
    OnlineLse<C> s{C(-INFINITY), C(0)};
    for (int64_t j = 0; j < l.n; ++j) s.add(C(x[base + j * l.inner]));
    const C inv_sum = C(1) / s.sum, lse = s.lse();
    for (int64_t j = 0; j < l.n; ++j)
      y[base + j * l.inner] = softmax_value<C, T>(C(x[base + j * l.inner]), s.max, inv_sum, lse, log);
  }
}

// softmax: gx = y * (g - sum(g * y)); log_softmax: gx = g - exp(y) * sum(g), or 0 on a row
// whose outputs are all -inf.
template <class C, class T>
__device__ __forceinline__ T softmax_grad(C y, C g, C dot, C sum_g, C y_max, bool log) {
  if (log) return T(y_max == -INFINITY ? C(0) : g - exp(y) * sum_g);
  return T(y * (g - dot));
}

template <class T>
__global__ void softmax_backward_rows_kernel(const T* y, const T* g, T* gx, int64_t rows, int64_t n, bool log) {
  using C = float_compute_t<T>;
  __shared__ C scratch[kThreads / 32];
  for_each_block_row(rows, [&](int64_t row, bool valid) {
    const T* yr = y + row * n;
    const T* gr = g + row * n;
    C dot = 0, sum_g = 0, y_max = -INFINITY;
    if (valid) {
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        const C yv = C(yr[j]), gv = C(gr[j]);
        dot += yv * gv;
        sum_g += gv;
        y_max = Max{}(y_max, yv);
      }
    }
    if (log) {
      sum_g = row_allreduce(sum_g, Add{}, scratch);
      y_max = row_allreduce(y_max, Max{}, scratch);
    } else {
      dot = row_allreduce(dot, Add{}, scratch);
    }
    if (!valid) return;
    T* gxr = gx + row * n;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x)
      gxr[j] = softmax_grad<C, T>(C(yr[j]), C(gr[j]), dot, sum_g, y_max, log);
  });
}

template <class T>
__global__ void softmax_backward_columns_kernel(const T* y, const T* g, T* gx, RowsLayout l, bool log) {
  using C = float_compute_t<T>;
  for (int64_t c = global_thread(); c < l.outer * l.inner; c += global_threads()) {
    const int64_t base = c / l.inner * l.n * l.inner + c % l.inner;
    C dot = 0, sum_g = 0, y_max = -INFINITY;
    for (int64_t j = 0; j < l.n; ++j) {
      const C yv = C(y[base + j * l.inner]), gv = C(g[base + j * l.inner]);
      dot += yv * gv;
      sum_g += gv;
      y_max = Max{}(y_max, yv);
    }
    for (int64_t j = 0; j < l.n; ++j) {
      const int64_t i = base + j * l.inner;
      gx[i] = softmax_grad<C, T>(C(y[i]), C(g[i]), dot, sum_g, y_max, log);
    }
  }
}

}  // namespace

void CudaBackend::softmax(const Tensor& x, int dim, bool log, const Tensor& out) {
  DeviceGuard guard(index_);
  if (x.numel() == 0) return;
  const Tensor xc = contiguous_on_device(x);
  const RowsLayout l = rows_layout(x.shape(), dim);
  with_contiguous_output(out, [&](const Tensor& o) {
    visit_floating(x.dtype(), log ? "log_softmax" : "softmax", [&]<class T>() {
      const T* xp = static_cast<const T*>(xc.raw_data());
      T* op = static_cast<T*>(o.raw_data());
      if (l.inner == 1) {
        const dim3 block = row_block(l.n);
        softmax_rows_kernel<T><<<row_grid(l.outer, block), block, 0, stream_>>>(xp, op, l.outer, l.n, log);
      } else {
        softmax_columns_kernel<T><<<grid_for(l.outer * l.inner), kThreads, 0, stream_>>>(xp, op, l, log);
      }
    });
    check_launch(log ? "log_softmax" : "softmax", stream_);
  });
}

void CudaBackend::softmax_backward(const Tensor& y, const Tensor& grad_y, int dim, bool log, const Tensor& grad_x) {
  DeviceGuard guard(index_);
  if (y.numel() == 0) return;
  const Tensor yc = contiguous_on_device(y), gc = contiguous_on_device(grad_y);
  const RowsLayout l = rows_layout(y.shape(), dim);
  const char* name = log ? "log_softmax_backward" : "softmax_backward";
  with_contiguous_output(grad_x, [&](const Tensor& gx) {
    visit_floating(y.dtype(), name, [&]<class T>() {
      const T* yp = static_cast<const T*>(yc.raw_data());
      const T* gp = static_cast<const T*>(gc.raw_data());
      T* gxp = static_cast<T*>(gx.raw_data());
      if (l.inner == 1) {
        const dim3 block = row_block(l.n);
        softmax_backward_rows_kernel<T>
            <<<row_grid(l.outer, block), block, 0, stream_>>>(yp, gp, gxp, l.outer, l.n, log);
      } else {
        softmax_backward_columns_kernel<T><<<grid_for(l.outer * l.inner), kThreads, 0, stream_>>>(yp, gp, gxp, l, log);
      }
    });
    check_launch(name, stream_);
  });
}

}  // namespace subtb::cuda
