// Softmax cross-entropy and NLL loss over rows of [N, C] on the GPU, with the CPU's
// semantics (kernels/cpu/loss.cpp). Cross-entropy never materialises log_softmax: forward
// is a block row per row (online log-sum-exp in one read, rows.cuh) that keeps the row's
// lse; backward writes g * (softmax - q) elementwise from the logits and lse. A reduced
// loss sums the per-row losses (in f64) with the reduction kernel, then scales.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/rows.cuh"

namespace subtb::cuda {

namespace {

// -log(exp(v) / exp(lse)) = lse - v, exactly +inf when v is -inf.
template <class C>
__device__ __forceinline__ C neg_log_prob(C lse, C v) {
  return v == -INFINITY ? C(INFINITY) : lse - v;
}

// Per-row losses into `loss` (stride loss_stride; L is T, or double for a reduced loss).
template <class T, class L>
__global__ void cross_entropy_kernel(const T* x, const int64_t* target, int64_t target_stride, int64_t ignore_index,
                                     float_compute_t<T> smoothing, float_compute_t<T>* lse_out, L* loss,
                                     int64_t loss_stride, int64_t rows, int64_t n) {
  using C = float_compute_t<T>;
  __shared__ C scratch[kThreads / 32];
  for_each_block_row(rows, [&](int64_t row, bool valid) {
    const int64_t t = valid ? target[row * target_stride] : ignore_index;
    const bool active = valid && t != ignore_index;
    const T* xr = x + row * n;
    OnlineLse<C> s{C(-INFINITY), C(0)};
    C sum_x = 0;
    if (active) {
      for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
        const C v = C(xr[j]);
        s.add(v);
        sum_x += v;
      }
    }
    s = row_lse(s, scratch);
    if (smoothing > C(0)) sum_x = row_allreduce(sum_x, Add{}, scratch);
    if (!valid || threadIdx.x != 0) return;
    C l = 0;
    if (active) {
      const C lse = s.lse();
      lse_out[row] = lse;
      if (smoothing < C(1)) l += (C(1) - smoothing) * neg_log_prob(lse, C(xr[t]));
      if (smoothing > C(0)) l += smoothing * neg_log_prob(lse, sum_x / static_cast<C>(n));
    } else {
      lse_out[row] = 0;
    }
    if constexpr (std::is_same_v<L, double>) {
      loss[row * loss_stride] = static_cast<double>(l);
    } else {
      loss[row * loss_stride] = T(l);
    }
  });
}

// grad[r, j] = g * exp(x - lse) - g * e / n, less g * (1 - e) at the target; 0 on ignored rows.
template <class T>
__global__ void cross_entropy_backward_kernel(const T* x, const int64_t* target, int64_t target_stride,
                                              const float_compute_t<T>* lse, const T* grad_loss, int64_t grad_stride,
                                              CrossEntropyParams params, T* gx, int64_t rows, int64_t n) {
  using C = float_compute_t<T>;
  const C smoothing = static_cast<C>(params.label_smoothing), scale = static_cast<C>(params.scale);
  for (int64_t i = global_thread(); i < rows * n; i += global_threads()) {
    const int64_t r = i / n, j = i % n;
    const int64_t t = target[r * target_stride];
    if (t == params.ignore_index) {
      gx[i] = T(C(0));
      continue;
    }
    const C g = scale * C(grad_loss[r * grad_stride]);
    const C l = lse[r];
    C v = l == -INFINITY ? C(0) : g * exp(C(x[i]) - l);
    v -= g * smoothing / static_cast<C>(n);
    if (j == t) v -= g * (C(1) - smoothing);
    gx[i] = T(v);
  }
}

template <class T, class L>
__global__ void nll_loss_kernel(const T* lp, int64_t s0, int64_t s1, const int64_t* target, int64_t target_stride,
                                int64_t ignore_index, L* loss, int64_t loss_stride, int64_t rows) {
  for (int64_t r = global_thread(); r < rows; r += global_threads()) {
    const int64_t t = target[r * target_stride];
    const double l = t == ignore_index ? 0.0 : -static_cast<double>(static_cast<compute_t<T>>(lp[r * s0 + t * s1]));
    if constexpr (std::is_same_v<L, double>) {
      loss[r * loss_stride] = l;
    } else {
      loss[r * loss_stride] = T(static_cast<compute_t<T>>(l));
    }
  }
}

template <class T>
__global__ void nll_loss_backward_kernel(const T* grad_loss, int64_t grad_stride, const int64_t* target,
                                         int64_t target_stride, int64_t ignore_index, double scale, T* gx, int64_t s0,
                                         int64_t s1, int64_t rows) {
  using C = compute_t<T>;
  for (int64_t r = global_thread(); r < rows; r += global_threads()) {
    const int64_t t = target[r * target_stride];
    if (t != ignore_index) gx[r * s0 + t * s1] = T(-static_cast<C>(scale) * static_cast<C>(grad_loss[r * grad_stride]));
  }
}

template <class T>
__global__ void store_scaled_kernel(const double* sum, double scale, T* out) {
  *out = T(static_cast<compute_t<T>>(scale * *sum));
}

// loss[] = scale * sum(per_row), the sum in f64.
template <class T>
void store_reduced(CudaBackend& be, const Tensor& per_row, double scale, const Tensor& loss, const char* name) {
  Tensor sum = make_tensor(Shape{1}, DType::f64, be.device());
  be.reduce(ReduceOp::sum, per_row, 1u, sum);
  store_scaled_kernel<T><<<1, 1, 0, be.stream()>>>(sum.data<double>(), scale, static_cast<T*>(loss.raw_data()));
  check_launch(name, be.stream());
}

int64_t stride0(const Tensor& t) { return t.dim() == 0 ? 0 : t.strides()[0]; }

}  // namespace

void CudaBackend::cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyParams& params,
                                const Tensor& loss, const Tensor& lse) {
  DeviceGuard guard(index_);
  const int64_t rows = logits.shape()[0], n = logits.shape()[1];
  const bool reduced = loss.dim() == 0;
  visit_floating(logits.dtype(), "cross_entropy", [&]<class T>() {
    using C = float_compute_t<T>;
    if (rows == 0) {
      if (reduced) fill(loss, 0.0);
      return;
    }
    const Tensor xc = contiguous_on_device(logits);
    const T* xp = static_cast<const T*>(xc.raw_data());
    const dim3 block = row_block(n);
    const C smoothing = static_cast<C>(params.label_smoothing);
    if (reduced) {
      Tensor per_row = make_tensor(Shape{rows}, DType::f64, device());
      cross_entropy_kernel<T, double><<<row_grid(rows, block), block, 0, stream_>>>(
          xp, target.data<int64_t>(), stride0(target), params.ignore_index, smoothing, lse.data<C>(),
          per_row.data<double>(), 1, rows, n);
      check_launch("cross_entropy", stream_);
      store_reduced<T>(*this, per_row, params.scale, loss, "cross_entropy");
    } else {
      cross_entropy_kernel<T, T><<<row_grid(rows, block), block, 0, stream_>>>(
          xp, target.data<int64_t>(), stride0(target), params.ignore_index, smoothing, lse.data<C>(),
          static_cast<T*>(loss.raw_data()), stride0(loss), rows, n);
      check_launch("cross_entropy", stream_);
    }
  });
}

void CudaBackend::cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse,
                                         const Tensor& grad_loss, const CrossEntropyParams& params,
                                         const Tensor& grad_logits) {
  DeviceGuard guard(index_);
  const int64_t rows = logits.shape()[0], n = logits.shape()[1];
  if (rows * n == 0) return;
  const Tensor xc = contiguous_on_device(logits);
  with_contiguous_output(grad_logits, [&](const Tensor& gx) {
    visit_floating(logits.dtype(), "cross_entropy_backward", [&]<class T>() {
      using C = float_compute_t<T>;
      cross_entropy_backward_kernel<T><<<grid_for(rows * n), kThreads, 0, stream_>>>(
          static_cast<const T*>(xc.raw_data()), target.data<int64_t>(), stride0(target), lse.data<C>(),
          static_cast<const T*>(grad_loss.raw_data()), stride0(grad_loss), params, static_cast<T*>(gx.raw_data()), rows,
          n);
    });
    check_launch("cross_entropy_backward", stream_);
  });
}

void CudaBackend::nll_loss(const Tensor& log_probs, const Tensor& target, const CrossEntropyParams& params,
                           const Tensor& loss) {
  DeviceGuard guard(index_);
  const int64_t rows = log_probs.shape()[0];
  const bool reduced = loss.dim() == 0;
  visit_floating(log_probs.dtype(), "nll_loss", [&]<class T>() {
    if (rows == 0) {
      if (reduced) fill(loss, 0.0);
      return;
    }
    const T* lp = static_cast<const T*>(log_probs.raw_data());
    const int64_t s0 = log_probs.strides()[0], s1 = log_probs.strides()[1];
    if (reduced) {
      Tensor per_row = make_tensor(Shape{rows}, DType::f64, device());
      nll_loss_kernel<T, double><<<grid_for(rows), kThreads, 0, stream_>>>(
          lp, s0, s1, target.data<int64_t>(), stride0(target), params.ignore_index, per_row.data<double>(), 1, rows);
      check_launch("nll_loss", stream_);
      store_reduced<T>(*this, per_row, params.scale, loss, "nll_loss");
    } else {
      nll_loss_kernel<T, T><<<grid_for(rows), kThreads, 0, stream_>>>(
          lp, s0, s1, target.data<int64_t>(), stride0(target), params.ignore_index, static_cast<T*>(loss.raw_data()),
          stride0(loss), rows);
      check_launch("nll_loss", stream_);
    }
  });
}

void CudaBackend::nll_loss_backward(const Tensor& grad_loss, const Tensor& target, const CrossEntropyParams& params,
                                    const Tensor& grad_log_probs) {
  DeviceGuard guard(index_);
  fill(grad_log_probs, 0.0);
  const int64_t rows = grad_log_probs.shape()[0];
  if (rows == 0) return;
  visit_floating(grad_log_probs.dtype(), "nll_loss_backward", [&]<class T>() {
    nll_loss_backward_kernel<T><<<grid_for(rows), kThreads, 0, stream_>>>(
        static_cast<const T*>(grad_loss.raw_data()), stride0(grad_loss), target.data<int64_t>(), stride0(target),
        params.ignore_index, params.scale, static_cast<T*>(grad_log_probs.raw_data()), grad_log_probs.strides()[0],
        grad_log_probs.strides()[1], rows);
  });
  check_launch("nll_loss_backward", stream_);
}

}  // namespace subtb::cuda
