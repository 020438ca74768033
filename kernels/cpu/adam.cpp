// The fused Adam/AdamW update: one pass over param, grad and both moments, where the
// composite (tests/nn/test_adam_update.cpp) takes a dozen ops and as many temporaries.
#include "kernels/cpu/adam_step.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/loops.h"

namespace subtb::cpu {

void CpuBackend::adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                             const AdamParams& params) {
  visit_floating(param.dtype(), "adam_update", [&]<class T>() {
    const AdamStep<compute_t<T>> update(params);
    T* const p = static_cast<T*>(param.raw_data());
    const T* const g = static_cast<const T*>(grad.raw_data());
    T* const m = static_cast<T*>(exp_avg.raw_data());
    T* const v = static_cast<T*>(exp_avg_sq.raw_data());
    for_each_row<4>(param.shape(), {&param.strides(), &grad.strides(), &exp_avg.strides(), &exp_avg_sq.strides()},
                    [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& st) {
                      T* const pr = p + off[0];
                      const T* const gr = g + off[1];
                      T* const mr = m + off[2];
                      T* const vr = v + off[3];
                      if (st[0] == 1 && st[1] == 1 && st[2] == 1 && st[3] == 1) {
                        for (int64_t j = 0; j < n; ++j) update(pr[j], gr[j], mr[j], vr[j]);
                      } else {
                        for (int64_t j = 0; j < n; ++j)
                          update(pr[j * st[0]], gr[j * st[1]], mr[j * st[2]], vr[j * st[3]]);
                      }
                    });
  });
}

}  // namespace subtb::cpu
