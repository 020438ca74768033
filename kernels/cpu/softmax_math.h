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

// Online log-sum-exp, one chunk at a time: the running sum is kept relative to the
// running max and rescaled once per chunk whose max is larger, so the row is read from
// memory once and exp runs once per element.
template <class C>
struct OnlineLse {
  C max = kNegInf<C>;
  C sum = 0;  // of exp(x - max)

  // Adds a chunk, writing its terms exp(x - max) to y when y is not null (exp(x - 0)
  // while every entry so far is -inf: zeros, and NaN for NaN).
  [[gnu::always_inline]] void add(const C* x, int64_t n, C* y) {
    const C m = vec::row_max(x, n);
    if (m > max) {
      sum *= std::exp(max - m);
      max = m;
    }
    sum += sum_exp(x, n, max == kNegInf<C> ? C(0) : max, y);
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
