// layer_norm and rms_norm over the last dim, and their backward, on the GPU, with the
// CPU's formulas (kernels/cpu/norm.cpp). x is made contiguous and seen as rows [R, D].
//  - forward: a block row of threads per row (rows.cuh): the mean, then the centred
//    second moment (two passes over a row that stays in cache: as accurate as Welford's),
//    then one pass that writes y;
//  - backward, grad_x: the same row layout, two row sums, one pass that writes;
//  - backward, grad_weight / grad_bias: sums over rows, computed by blocks of 32 columns x
//    8 row lanes over slices of the rows; the slices' partial sums are added by a second
//    kernel in slice order, so the result does not depend on timing (no atomics).
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/rows.cuh"

namespace subtb::cuda {

namespace {

// A [D] parameter as a contiguous pointer, or null when undefined.
template <class T>
const T* param_ptr(const Tensor& p, Tensor& holder) {
  if (!p.defined()) return nullptr;
  holder = contiguous_on_device(p);
  return static_cast<const T*>(holder.raw_data());
}

template <class T, bool kCentred>
__global__ void norm_forward_kernel(const T* x, const T* w, const T* b, float_compute_t<T> eps, T* y,
                                    float_compute_t<T>* mean_out, float_compute_t<T>* rstd_out, int64_t rows,
                                    int64_t n) {
  using C = float_compute_t<T>;
  __shared__ C scratch[kThreads / 32];
  for_each_block_row(rows, [&](int64_t row, bool valid) {
    const T* xr = x + row * n;
    C mean = 0;
    if constexpr (kCentred) {
      C s = 0;
      if (valid)
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += C(xr[j]);
      mean = row_allreduce(s, Add{}, scratch) / static_cast<C>(n);
    }
    C m2 = 0;
    if (valid) {
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        const C d = C(xr[j]) - mean;
        m2 += d * d;
      }
    }
    m2 = row_allreduce(m2, Add{}, scratch);
    if (!valid) return;
    const C rstd = C(1) / sqrt(m2 / static_cast<C>(n) + eps);
    T* yr = y + row * n;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      C v = (C(xr[j]) - mean) * rstd;
      if (w != nullptr) v *= C(w[j]);
      if (b != nullptr) v += C(b[j]);
      yr[j] = T(v);
    }
    if (threadIdx.x == 0) {
      if constexpr (kCentred) mean_out[row] = mean;
      rstd_out[row] = rstd;
    }
  });
}

// grad_x = rstd * (g w - mean(g w) - xhat * mean(g w xhat)), without the mean(g w) term
// for rms_norm (mean = 0 there).
template <class T, bool kCentred>
__global__ void norm_backward_x_kernel(const T* g, const T* x, const T* w, const float_compute_t<T>* mean,
                                       const float_compute_t<T>* rstd, T* gx, int64_t rows, int64_t n) {
  using C = float_compute_t<T>;
  __shared__ C scratch[kThreads / 32];
  for_each_block_row(rows, [&](int64_t row, bool valid) {
    const T* xr = x + row * n;
    const T* gr = g + row * n;
    const C mu = valid && kCentred ? mean[row] : C(0), r = valid ? rstd[row] : C(0);
    C sum_gw = 0, sum_gw_xhat = 0;
    if (valid) {
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        const C gw = C(gr[j]) * (w != nullptr ? C(w[j]) : C(1));
        sum_gw += gw;
        sum_gw_xhat += gw * (C(xr[j]) - mu) * r;
      }
    }
    if constexpr (kCentred) sum_gw = row_allreduce(sum_gw, Add{}, scratch);
    sum_gw_xhat = row_allreduce(sum_gw_xhat, Add{}, scratch);
    if (!valid) return;
    const C inv_n = C(1) / static_cast<C>(n);
    const C a = kCentred ? sum_gw * inv_n : C(0), b = sum_gw_xhat * inv_n;
    T* gxr = gx + row * n;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const C gw = C(gr[j]) * (w != nullptr ? C(w[j]) : C(1));
      gxr[j] = T(r * (gw - a - (C(xr[j]) - mu) * r * b));
    }
  });
}

constexpr int kColumns = 32, kRowLanes = 8;

// Partial sums over the rows of slice blockIdx.y: gw_part[s, j] = sum g * xhat and
// gb_part[s, j] = sum g (either may be null).
template <class T, bool kCentred>
__global__ void norm_backward_params_kernel(const T* g, const T* x, const float_compute_t<T>* mean,
                                            const float_compute_t<T>* rstd, float_compute_t<T>* gw_part,
                                            float_compute_t<T>* gb_part, int64_t rows, int64_t n, int64_t chunk) {
  using C = float_compute_t<T>;
  __shared__ C sw[kRowLanes][kColumns], sb[kRowLanes][kColumns];
  const int64_t j = static_cast<int64_t>(blockIdx.x) * kColumns + threadIdx.x;
  const int64_t begin = blockIdx.y * chunk, end = min(begin + chunk, rows);
  C acc_w = 0, acc_b = 0;
  if (j < n) {
    for (int64_t r = begin + threadIdx.y; r < end; r += kRowLanes) {
      const C gv = C(g[r * n + j]);
      acc_w += gv * (C(x[r * n + j]) - (kCentred ? mean[r] : C(0))) * rstd[r];
      acc_b += gv;
    }
  }
  sw[threadIdx.y][threadIdx.x] = acc_w;
  sb[threadIdx.y][threadIdx.x] = acc_b;
  __syncthreads();
  if (threadIdx.y == 0 && j < n) {
    for (int k = 1; k < kRowLanes; ++k) {
      acc_w += sw[k][threadIdx.x];
      acc_b += sb[k][threadIdx.x];
    }
    if (gw_part != nullptr) gw_part[blockIdx.y * n + j] = acc_w;
    if (gb_part != nullptr) gb_part[blockIdx.y * n + j] = acc_b;
  }
}

template <class T>
__global__ void sum_slices_kernel(const float_compute_t<T>* part, int64_t slices, int64_t n, T* out) {
  for (int64_t j = global_thread(); j < n; j += global_threads()) {
    float_compute_t<T> s = 0;
    for (int64_t k = 0; k < slices; ++k) s += part[k * n + j];
    out[j] = T(s);
  }
}

template <class T, bool kCentred>
void norm_forward(CudaBackend& be, const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                  const Tensor& out, const Tensor& mean, const Tensor& rstd) {
  using C = float_compute_t<T>;
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[x.dim() - 1];
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  if (rows == 0) return;
  const Tensor xc = contiguous_on_device(x);
  Tensor wc, bc;
  const T* w = param_ptr<T>(weight, wc);
  const T* b = param_ptr<T>(bias, bc);
  with_contiguous_output(out, [&](const Tensor& o) {
    const dim3 block = row_block(n);
    norm_forward_kernel<T, kCentred><<<row_grid(rows, block), block, 0, be.stream()>>>(
        static_cast<const T*>(xc.raw_data()), w, b, static_cast<C>(eps), static_cast<T*>(o.raw_data()),
        kCentred ? mean.data<C>() : nullptr, rstd.data<C>(), rows, n);
    check_launch(kCentred ? "layer_norm" : "rms_norm", be.stream());
  });
}

template <class T, bool kCentred>
void norm_backward(CudaBackend& be, const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                   const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) {
  using C = float_compute_t<T>;
  const char* name = kCentred ? "layer_norm_backward" : "rms_norm_backward";
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[x.dim() - 1];
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  const Tensor xc = contiguous_on_device(x), gc = contiguous_on_device(grad_out);
  const T* xp = static_cast<const T*>(xc.raw_data());
  const T* gp = static_cast<const T*>(gc.raw_data());
  const C* mp = kCentred ? mean.data<C>() : nullptr;
  const C* rp = rstd.data<C>();
  if (grad_x.defined() && rows > 0) {
    Tensor wc;
    const T* w = param_ptr<T>(weight, wc);
    with_contiguous_output(grad_x, [&](const Tensor& gx) {
      const dim3 block = row_block(n);
      norm_backward_x_kernel<T, kCentred><<<row_grid(rows, block), block, 0, be.stream()>>>(
          gp, xp, w, mp, rp, static_cast<T*>(gx.raw_data()), rows, n);
      check_launch(name, be.stream());
    });
  }
  if (!grad_weight.defined() && !grad_bias.defined()) return;
  if (rows == 0) {
    if (grad_weight.defined()) be.fill(grad_weight, 0.0);
    if (grad_bias.defined()) be.fill(grad_bias, 0.0);
    return;
  }
  // Enough slices of rows to give every SM a few blocks, each slice at least 64 rows.
  const int64_t column_blocks = (n + kColumns - 1) / kColumns;
  const int64_t wanted = (4 * static_cast<int64_t>(be.sm_count()) + column_blocks - 1) / column_blocks;
  const int64_t slices = std::clamp<int64_t>(std::min(wanted, (rows + 63) / 64), 1, 1024);
  const int64_t chunk = (rows + slices - 1) / slices;
  Tensor gw_part = make_tensor(Shape{slices, n}, dtype_of<C>(), be.device());
  Tensor gb_part = make_tensor(Shape{slices, n}, dtype_of<C>(), be.device());
  norm_backward_params_kernel<T, kCentred><<<dim3(column_blocks, slices), dim3(kColumns, kRowLanes), 0, be.stream()>>>(
      gp, xp, mp, rp, grad_weight.defined() ? gw_part.data<C>() : nullptr,
      grad_bias.defined() ? gb_part.data<C>() : nullptr, rows, n, chunk);
  check_launch(name, be.stream());
  auto finish = [&](const Tensor& part, const Tensor& grad) {
    with_contiguous_output(grad, [&](const Tensor& gd) {
      sum_slices_kernel<T>
          <<<grid_for(n), kThreads, 0, be.stream()>>>(part.data<C>(), slices, n, static_cast<T*>(gd.raw_data()));
      check_launch(name, be.stream());
    });
  };
  if (grad_weight.defined()) finish(gw_part, grad_weight);
  if (grad_bias.defined()) finish(gb_part, grad_bias);
}

}  // namespace

void CudaBackend::layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& out,
                             const Tensor& mean, const Tensor& rstd) {
  DeviceGuard guard(index_);
  visit_floating(x.dtype(), "layer_norm",
                 [&]<class T>() { norm_forward<T, true>(*this, x, weight, bias, eps, out, mean, rstd); });
}

void CudaBackend::layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                      const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                                      const Tensor& grad_bias) {
  DeviceGuard guard(index_);
  visit_floating(x.dtype(), "layer_norm_backward", [&]<class T>() {
    norm_backward<T, true>(*this, grad_out, x, weight, mean, rstd, grad_x, grad_weight, grad_bias);
  });
}

void CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, double eps, const Tensor& out, const Tensor& rstd) {
  DeviceGuard guard(index_);
  visit_floating(x.dtype(), "rms_norm",
                 [&]<class T>() { norm_forward<T, false>(*this, x, weight, Tensor(), eps, out, Tensor(), rstd); });
}

void CudaBackend::rms_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                                    const Tensor& grad_x, const Tensor& grad_weight) {
  DeviceGuard guard(index_);
  visit_floating(x.dtype(), "rms_norm_backward", [&]<class T>() {
    norm_backward<T, false>(*this, grad_out, x, weight, Tensor(), rstd, grad_x, grad_weight, Tensor());
  });
}

}  // namespace subtb::cuda
