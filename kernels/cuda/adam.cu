// The fused Adam/AdamW update on the GPU: one pass over param, grad and both moments, with
// the CPU kernel's per-element update (kernels/cpu/adam_step.h), so that the two agree to
// rounding. 16-bit floats compute in f32.
#include <cuda_runtime.h>

#include "kernels/cpu/adam_step.h"
#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/loops.cuh"

namespace subtb::cuda {

namespace {

template <class T>
__global__ void adam_kernel(int64_t n, OffsetCalc<4> calc, cpu::AdamStep<compute_t<T>> step, T* param, const T* grad,
                            T* exp_avg, T* exp_avg_sq) {
  for (int64_t i = global_thread(); i < n; i += global_threads()) {
    int64_t off[4];
    calc.offsets(i, off);
    step(param[off[0]], grad[off[1]], exp_avg[off[2]], exp_avg_sq[off[3]]);
  }
}

}  // namespace

void CudaBackend::adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                              const AdamParams& params) {
  DeviceGuard guard(index_);
  const int64_t n = param.numel();
  if (n == 0) return;
  visit_floating(param.dtype(), "adam_update", [&]<class T>() {
    const auto calc = make_offset_calc<4>(
        param.shape(), {&param.strides(), &grad.strides(), &exp_avg.strides(), &exp_avg_sq.strides()});
    adam_kernel<T><<<grid_for(n), kThreads, 0, stream_>>>(
        n, calc, cpu::AdamStep<compute_t<T>>(params), static_cast<T*>(param.raw_data()),
        static_cast<const T*>(grad.raw_data()), static_cast<T*>(exp_avg.raw_data()),
        static_cast<T*>(exp_avg_sq.raw_data()));
  });
  check_launch("adam_update", stream_);
}

}  // namespace subtb::cuda
