#pragma once
// The log-sum-exp of a contiguous row of the compute type C (float or double), shared by
// the softmax and cross-entropy kernels. Inline helpers only: they are compiled into each
// SUBTB_MULTIVERSION clone of the kernels that call them.
//
// -inf is exact throughout: an entry of -inf contributes exp(-inf) = 0, and a row whose
// entries are all -inf (or that is empty) has max -inf, sum 0 and log-sum-exp -inf.
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/vec.h"

namespace subtb::cpu {

// Rows are read in chunks that stay in L1 while they are read twice (max, then exp).
inline constexpr int64_t kSoftmaxChunk = 2048;

template <class C>
inline constexpr C kNegInf = -std::numeric_limits<C>::infinity();

// The max of x[0, n), NaN entries skipped (-inf when n == 0).
template <class C>
[[gnu::always_inline]] inline C row_max(const C* x, int64_t n) {
  constexpr int64_t W = vec::kLanes<C>;
  vec::Vec<C> m0 = vec::splat(kNegInf<C>), m1 = m0;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = vec::max(vec::load(x + i), m0);
    m1 = vec::max(vec::load(x + i + W), m1);
  }
  for (; i < n; i += W) m0 = vec::max(vec::load_partial(x + i, std::min(W, n - i), kNegInf<C>), m0);
  return vec::reduce_max(vec::max(m1, m0));
}

// The sum of exp(x[i] - ref) over x[0, n); each term is also written to y when y is not
// null. `ref` must be finite, so that -inf entries give exactly 0 and NaN stays NaN.
template <class C>
[[gnu::always_inline]] inline C sum_exp(const C* x, int64_t n, C ref, C* y) {
  constexpr int64_t W = vec::kLanes<C>;
  const vec::Vec<C> r = vec::splat(ref);
  vec::Vec<C> s0{}, s1{};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const vec::Vec<C> e0 = vec::exp(vec::load(x + i) - r);
    const vec::Vec<C> e1 = vec::exp(vec::load(x + i + W) - r);
    if (y) {
      vec::store(y + i, e0);
      vec::store(y + i + W, e1);
    }
    s0 += e0;
    s1 += e1;
  }
  for (; i < n; i += W) {
    const int64_t k = std::min(W, n - i);
    const vec::Vec<C> e = vec::exp(vec::load_partial(x + i, k, kNegInf<C>) - r);
    if (y) vec::store_partial(y + i, e, k);
    s0 += e;
  }
  return vec::reduce_add(s0 + s1);
}

template <class C>
[[gnu::always_inline]] inline C row_sum(const C* x, int64_t n) {
  constexpr int64_t W = vec::kLanes<C>;
  vec::Vec<C> s0{}, s1{};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += vec::load(x + i);
    s1 += vec::load(x + i + W);
  }
  for (; i < n; i += W) s0 += vec::load_partial(x + i, std::min(W, n - i), C(0));
  return vec::reduce_add(s0 + s1);
}

// Online log-sum-exp, one chunk at a time: the running sum is kept relative to the
// running max and rescaled once per chunk whose max is larger, so the row is read from
// memory once and exp runs once per element.
template <class C>
struct OnlineLse {
  C max = kNegInf<C>;
  C sum = 0;  // of exp(x - max)

  // Adds a chunk; returns the finite reference its terms were taken against (the max so
  // far, or 0 while every entry is -inf), writing those terms to y when y is not null.
  [[gnu::always_inline]] C add(const C* x, int64_t n, C* y) {
    const C m = row_max(x, n);
    if (m > max) {
      sum *= std::exp(max - m);
      max = m;
    }
    const C ref = max == kNegInf<C> ? C(0) : max;
    sum += sum_exp(x, n, ref, y);
    return ref;
  }

  // -inf for an all -inf row, NaN when a NaN was seen.
  C lse() const { return max + std::log(sum); }
};

// Log-sum-exp of a whole row.
template <class C>
[[gnu::always_inline]] inline C row_logsumexp(const C* x, int64_t n) {
  OnlineLse<C> acc;
  for (int64_t b = 0; b < n; b += kSoftmaxChunk) acc.add(x + b, std::min(kSoftmaxChunk, n - b), nullptr);
  return acc.lse();
}

}  // namespace subtb::cpu
