#pragma once
// Log-space sums with -inf handled exactly: log(0 + 0) stays -inf instead of NaN.
#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

namespace subtb::gfn {

inline constexpr double neg_inf = -std::numeric_limits<double>::infinity();

inline double log_add_exp(double a, double b) {
  if (a == neg_inf) return b;
  if (b == neg_inf) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(-std::abs(a - b)));
}

inline double log_sum_exp(std::span<const double> values) {
  double hi = neg_inf;
  for (double v : values) hi = std::max(hi, v);
  if (std::isinf(hi)) return hi;  // all -inf (empty sum), or an infinite term
  // Neumaier's compensated sum: enumerations add up millions of terms.
  double sum = 0.0, compensation = 0.0;
  for (double v : values) {
    const double term = std::exp(v - hi), next = sum + term;
    compensation += std::abs(sum) >= term ? (sum - next) + term : (term - next) + sum;
    sum = next;
  }
  return hi + std::log(sum + compensation);
}

}  // namespace subtb::gfn
