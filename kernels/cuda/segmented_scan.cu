// Segmented scans over a padded [B, L] batch on the GPU, one thread per row: rows are
// short (2 to 200 steps) and many, so a block holds kRowThreads rows and the scan within
// a row runs sequentially in registers. Same semantics as kernels/cpu/segmented_scan.cpp.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_math.cuh"

namespace subtb::cuda {

namespace {

template <class T, class C>
__global__ void segmented_scan_kernel(bool log_space, const T* x, const int64_t* lengths, T* out, int64_t B,
                                      int64_t L) {
  const int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (b >= B) return;
  const int64_t n = lengths[b];
  const C identity = log_space ? -INFINITY : C(0);
  C acc = identity;
  for (int64_t t = 0; t < L; ++t) {
    if (t < n) {
      const C v = load_as<C>(x, b * L + t);
      acc = log_space ? log_add_exp(acc, v) : acc + v;
      store_as(out, b * L + t, acc);
    } else {
      store_as(out, b * L + t, identity);
    }
  }
}

template <class T, class C>
__global__ void segmented_scan_backward_kernel(bool log_space, const T* x, const T* out, const T* grad_out,
                                               const int64_t* lengths, T* grad_x, int64_t B, int64_t L) {
  const int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (b >= B) return;
  const int64_t n = lengths[b];
  const int64_t row = b * L;
  for (int64_t t = n; t < L; ++t) store_as(grad_x, row + t, C(0));
  C q = 0;
  for (int64_t k = n - 1; k >= 0; --k) {
    if (!log_space) {
      q += load_as<C>(grad_out, row + k);
      store_as(grad_x, row + k, q);
      continue;
    }
    // dx[k] = exp(x[k] - out[k]) Q[k], Q[k] = g[k] + exp(out[k] - out[k+1]) Q[k+1]: every
    // exponent is <= 0, and an all -inf prefix gets exactly zero.
    const C ok = load_as<C>(out, row + k);
    const bool ok_neg_inf = isinf(ok) && ok < 0;
    if (k + 1 < n) q *= ok_neg_inf ? C(0) : exp(ok - load_as<C>(out, row + k + 1));
    q += load_as<C>(grad_out, row + k);
    const C xk = load_as<C>(x, row + k);
    store_as(grad_x, row + k, (isinf(xk) && xk < 0) ? C(0) : exp(xk - ok) * q);
  }
}

}  // namespace

void CudaBackend::segmented_scan(ScanOp op, const Tensor& x, const Tensor& lengths, const Tensor& out) {
  DeviceGuard guard(index_);
  const int64_t B = x.shape()[0], L = x.shape()[1];
  if (B == 0) return;
  visit_floating(x.dtype(), "segmented_scan", [&]<class T>() {
    using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
    segmented_scan_kernel<T, C><<<row_blocks(B), kRowThreads, 0, stream_>>>(
        op == ScanOp::logcumsumexp, x.data<T>(), lengths.data<int64_t>(), out.data<T>(), B, L);
  });
  check_launch("segmented_scan", stream_);
}

void CudaBackend::segmented_scan_backward(ScanOp op, const Tensor& x, const Tensor& out, const Tensor& grad_out,
                                          const Tensor& lengths, const Tensor& grad_x) {
  DeviceGuard guard(index_);
  const int64_t B = x.shape()[0], L = x.shape()[1];
  if (B == 0) return;
  visit_floating(x.dtype(), "segmented_scan_backward", [&]<class T>() {
    using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
    segmented_scan_backward_kernel<T, C><<<row_blocks(B), kRowThreads, 0, stream_>>>(
        op == ScanOp::logcumsumexp, x.data<T>(), out.data<T>(), grad_out.data<T>(), lengths.data<int64_t>(),
        grad_x.data<T>(), B, L);
  });
  check_launch("segmented_scan_backward", stream_);
}

}  // namespace subtb::cuda
