#pragma once
// The per-element Adam/AdamW update, shared by the CPU and CUDA kernels (a host and device
// function), with every constant folded on the host. The operations and their order match
// the composite (tests/nn/test_adam_update.cpp), so that in f32 and f64 the kernels and
// the composite agree to rounding. C is the compute type (float or double); 16-bit
// parameters and moments are read and written as T and updated in C.
#include <cmath>

#include "kernels/backend.h"
#include "tensor/dtype.h"  // SUBTB_HOST_DEVICE

namespace subtb::cpu {

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
  SUBTB_HOST_DEVICE void operator()(T& param, T grad, T& exp_avg, T& exp_avg_sq) const {
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

}  // namespace subtb::cpu
