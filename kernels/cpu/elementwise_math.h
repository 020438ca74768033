#pragma once
// Scalar math of the elementwise kernels, templated on the compute type C (float or
// double), shared by the CPU and CUDA kernels (host and device functions). Each function
// is small and inline so that the loops calling it stay tight; the formulas are the
// numerically stable ones (no exp of a large positive argument).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "tensor/dtype.h"  // SUBTB_HOST_DEVICE

namespace subtb::cpu::math {

template <class C>
SUBTB_HOST_DEVICE inline C sigmoid(C x) {
  // exp(-|x|) never overflows; for x < 0, sigmoid(x) = e / (1 + e) with e = exp(x).
  const C e = std::exp(-std::abs(x));
  const C s = C(1) / (C(1) + e);
  return x >= C(0) ? s : e * s;
}

// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact for large |x| in both directions.
template <class C>
SUBTB_HOST_DEVICE inline C softplus(C x) {
  return std::max(x, C(0)) + std::log1p(std::exp(-std::abs(x)));
}

template <class C>
SUBTB_HOST_DEVICE inline C silu(C x) {
  return x * sigmoid(x);
}

template <class C>
SUBTB_HOST_DEVICE inline C silu_grad(C x, C g) {
  const C s = sigmoid(x);
  return g * s * (C(1) + x * (C(1) - s));
}

// gelu(x) = x * Phi(x), Phi the standard normal CDF.
template <class C>
SUBTB_HOST_DEVICE inline C gelu_erf(C x) {
  return C(0.5) * x * (C(1) + std::erf(x * C(std::numbers::sqrt2 / 2)));
}

template <class C>
SUBTB_HOST_DEVICE inline C gelu_erf_grad(C x, C g) {
  const C cdf = C(0.5) * (C(1) + std::erf(x * C(std::numbers::sqrt2 / 2)));
  const C pdf = C(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2) * std::exp(C(-0.5) * x * x);
  return g * (cdf + x * pdf);
}

// The tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
inline constexpr double kGeluTanhScale = std::numbers::sqrt2 * std::numbers::inv_sqrtpi;  // sqrt(2/pi)
inline constexpr double kGeluTanhCubic = 0.044715;

template <class C>
SUBTB_HOST_DEVICE inline C gelu_tanh(C x) {
  const C t = std::tanh(C(kGeluTanhScale) * (x + C(kGeluTanhCubic) * x * x * x));
  return C(0.5) * x * (C(1) + t);
}

template <class C>
SUBTB_HOST_DEVICE inline C gelu_tanh_grad(C x, C g) {
  const C t = std::tanh(C(kGeluTanhScale) * (x + C(kGeluTanhCubic) * x * x * x));
  const C du = C(kGeluTanhScale) * (C(1) + C(3 * kGeluTanhCubic) * x * x);
  return g * (C(0.5) * (C(1) + t) + C(0.5) * x * (C(1) - t * t) * du);
}

// sign(x) in {-1, 0, +1}; zeros and NaN map to themselves. Selects only, so it vectorises.
template <class C>
SUBTB_HOST_DEVICE inline C sign(C x) {
  return x > C(0) ? C(1) : (x < C(0) ? C(-1) : x);
}

// Clamps to [lo, hi] with comparisons that are false against NaN, so that a NaN bound is
// no bound and a NaN input stays NaN. lo > hi gives hi everywhere, like std::min(std::max()).
template <class C>
SUBTB_HOST_DEVICE inline C clamp(C x, C lo, C hi) {
  x = x < lo ? lo : x;
  return x > hi ? hi : x;
}

// NaN-propagating maximum / minimum (u != u only for NaN, and never for integers).
template <class C>
SUBTB_HOST_DEVICE inline C maximum(C u, C v) {
  return (u > v || u != u) ? u : v;
}

template <class C>
SUBTB_HOST_DEVICE inline C minimum(C u, C v) {
  return (u < v || u != u) ? u : v;
}

}  // namespace subtb::cpu::math
