#pragma once
// Short SIMD vectors for the row kernels (softmax, cross-entropy, the norms), written with
// GCC's vector extensions: one source that compiles to SSE2, AVX2 or AVX-512 code,
// whichever the enclosing function is compiled for. Hot row functions are marked
// SUBTB_MULTIVERSION, so the loader picks the x86-64-v3 clone (AVX2 + FMA) on CPUs that
// have it while the library itself still runs on any x86-64.
//
// Vec<float> is 8 lanes and Vec<double> 4: 32 bytes each.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SUBTB_MULTIVERSION __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SUBTB_MULTIVERSION
#endif

// These vectors are passed by value, for which GCC notes that the calling convention
// differs with and without AVX (-Wpsabi). Every function taking them is inline and
// internal to the CPU kernels that include this header, never called across a compiled
// boundary, so the note is moot; it is silenced for the including file as a whole
// because the notes are raised at each call site.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace subtb::cpu::vec {

template <class C>
struct VecOf;
template <>
struct VecOf<float> {
  using type = float __attribute__((vector_size(32)));
};
template <>
struct VecOf<double> {
  using type = double __attribute__((vector_size(32)));
};
template <class C>
using Vec = typename VecOf<C>::type;
template <class C>
inline constexpr int64_t kLanes = 32 / sizeof(C);

// The element type of a vector type.
template <class V>
using Elem = std::remove_cvref_t<decltype(std::declval<V>()[0])>;

template <class C>
[[gnu::always_inline]] inline Vec<C> splat(C x) {
  return Vec<C>{} + x;
}

template <class C>
[[gnu::always_inline]] inline Vec<C> load(const C* p) {
  Vec<C> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// The first n (< kLanes) elements of p; the other lanes hold `fill`.
template <class C>
[[gnu::always_inline]] inline Vec<C> load_partial(const C* p, int64_t n, C fill) {
  Vec<C> v = splat(fill);
  for (int64_t i = 0; i < n; ++i) v[i] = p[i];
  return v;
}

template <class C>
[[gnu::always_inline]] inline void store(C* p, std::type_identity_t<Vec<C>> v) {
  std::memcpy(p, &v, sizeof v);
}

template <class C>
[[gnu::always_inline]] inline void store_partial(C* p, std::type_identity_t<Vec<C>> v, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = v[i];
}

// Lane-wise max that skips NaN in `a` (x > m ? x : m keeps m when x is NaN).
template <class V>
[[gnu::always_inline]] inline V max(V a, V b) {
  return a > b ? a : b;
}

template <class V>
[[gnu::always_inline]] inline Elem<V> reduce_add(V v) {
  Elem<V> s = 0;
  for (int64_t i = 0; i < kLanes<Elem<V>>; ++i) s += v[i];
  return s;
}

template <class V>
[[gnu::always_inline]] inline Elem<V> reduce_max(V v) {
  Elem<V> m = v[0];
  for (int64_t i = 1; i < kLanes<Elem<V>>; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

// The max of x[0, n), NaN entries skipped (-inf when n == 0).
template <class C>
[[gnu::always_inline]] inline C row_max(const C* x, int64_t n) {
  constexpr int64_t W = kLanes<C>;
  constexpr C neg_inf = -std::numeric_limits<C>::infinity();
  Vec<C> m0 = splat(neg_inf), m1 = m0;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    m0 = max(load(x + i), m0);
    m1 = max(load(x + i + W), m1);
  }
  for (; i < n; i += W) m0 = max(load_partial(x + i, std::min(W, n - i), neg_inf), m0);
  return reduce_max(max(m1, m0));
}

// The sum of x[0, n), in 2 x kLanes partial sums.
template <class C>
[[gnu::always_inline]] inline C row_sum(const C* x, int64_t n) {
  constexpr int64_t W = kLanes<C>;
  Vec<C> s0{}, s1{};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    s0 += load(x + i);
    s1 += load(x + i + W);
  }
  for (; i < n; i += W) s0 += load_partial(x + i, std::min(W, n - i), C(0));
  return reduce_add(s0 + s1);
}

// exp of every lane, to within 3 ulp: 2^n exp(r) with n = round(x / ln 2).
// Exactly 0 below -87.7, where the result would be subnormal, and for -inf; +inf from
// 88.4 up (f32 overflows at 88.72); NaN stays NaN.
[[gnu::always_inline]] inline Vec<float> exp(Vec<float> x) {
  using I = int32_t __attribute__((vector_size(32)));
  constexpr float lo = -88.0f, hi = 88.7228f;
  Vec<float> c = x < lo ? splat(lo) : x;
  c = c > hi ? splat(hi) : c;
  // t = c / ln 2 + 1.5 * 2^23 + 127 rounds c / ln 2 to the integer n and leaves n + 127
  // in t's low mantissa bits, which shifted into the exponent field are 2^n: 0 for
  // n = -127 (the clamp at lo), +inf for n = 128 (the clamp at hi), 0 for NaN.
  constexpr float magic = 12582912.0f + 127.0f;
  const Vec<float> t = c * 1.44269504088896341f + magic;
  const Vec<float> n = t - magic;
  // r = c - n ln 2, with ln 2 in two parts (Cody-Waite) so that r is exact enough.
  const Vec<float> r = (c - n * 0.693359375f) + n * 2.12194440e-4f;
  // exp(r) on [-ln2 / 2, ln2 / 2] by the degree-5 minimax polynomial for relative error
  // (7.5e-8, about an ulp), with its constant term rounded to exactly 1 so that exp(0) is
  // exactly 1 (the error stays below 1.5e-7).
  Vec<float> p = splat(8.297655080e-3f);
  p = p * r + 4.191538199e-2f;
  p = p * r + 1.666757473e-1f;
  p = p * r + 4.999889485e-1f;
  p = p * r + 9.999996920e-1f;
  p = p * r + 1.0f;
  I bits;
  std::memcpy(&bits, &t, sizeof bits);
  bits <<= 23;
  Vec<float> two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return p * two_n;
}

// f64 keeps the libm exp: the double kernels are the reference path, not the fast one.
[[gnu::always_inline]] inline Vec<double> exp(Vec<double> x) {
  for (int64_t i = 0; i < kLanes<double>; ++i) x[i] = std::exp(x[i]);
  return x;
}

}  // namespace subtb::cpu::vec
