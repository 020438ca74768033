// The fused Adam/AdamW update: one pass over param, grad and both moments, where the
// composite (tests/nn/test_adam_update.cpp) takes a dozen ops and as many temporaries.
#include <cmath>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/loops.h"

namespace subtb::cpu {

namespace {

// The per-element update with every constant folded on the host. The operations and
// their order match the composite, so that in f32 and f64 the two agree to rounding.
template <class C>
struct AdamStep {
  C beta1, one_minus_beta1, beta2, one_minus_beta2;
  C step_size;  // lr / (1 - beta1^step)
  C sqrt_bc2;   // sqrt(1 - beta2^step)
  C eps;
  C weight_decay;  // added to the gradient (Adam); 0 when decoupled
  C decay;         // multiplies the parameter (AdamW); 1 when coupled

  explicit AdamStep(const AdamParams& a)
      : beta1(C(a.beta1)),
        one_minus_beta1(C(1.0 - a.beta1)),
        beta2(C(a.beta2)),
        one_minus_beta2(C(1.0 - a.beta2)),
        step_size(C(a.lr / (1.0 - std::pow(a.beta1, static_cast<double>(a.step))))),
        sqrt_bc2(C(std::sqrt(1.0 - std::pow(a.beta2, static_cast<double>(a.step))))),
        eps(C(a.eps)),
        weight_decay(C(a.decoupled_weight_decay ? 0.0 : a.weight_decay)),
        decay(C(a.decoupled_weight_decay ? 1.0 - a.lr * a.weight_decay : 1.0)) {}

  template <class T>
  void operator()(T& param, T grad, T& exp_avg, T& exp_avg_sq) const {
    C x = C(param), g = C(grad);
    if (weight_decay != C(0)) g = g + x * weight_decay;
    if (decay != C(1)) x = x * decay;
    const C m = C(exp_avg) * beta1 + g * one_minus_beta1;
    const C v = C(exp_avg_sq) * beta2 + g * g * one_minus_beta2;
    const C denom = std::sqrt(v) / sqrt_bc2 + eps;
    param = T(x - m * step_size / denom);
    exp_avg = T(m);
    exp_avg_sq = T(v);
  }
};

}  // namespace

void CpuBackend::adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                             const Tensor& exp_avg_sq, const AdamParams& params) {
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
