#pragma once
// Short SIMD vectors for the row kernels (softmax, cross-entropy, the norms), written with
// GCC's vector extensions: one source that compiles to SSE2, AVX2 or AVX-512 code,
// whichever the enclosing function is compiled for. Hot row functions are marked
// SUBTB_MULTIVERSION, so the loader picks the x86-64-v3 clone (AVX2 + FMA) on CPUs that
// have it while the library itself still runs on any x86-64.
//
// Vec<float> is 8 lanes and Vec<double> 4: 32 bytes each.
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

// exp of every lane, to about 2 ulp (Cephes' polynomial after reducing by powers of 2).
// Exactly 0 below -87.3, where the result would be subnormal, and for -inf; +inf above
// 88.3, a little before f32 overflows at 88.72; NaN stays NaN.
[[gnu::always_inline]] inline Vec<float> exp(Vec<float> x) {
  using I = int32_t __attribute__((vector_size(32)));
  constexpr float lo = -87.3f, hi = 88.3f;
  Vec<float> c = x < lo ? splat(lo) : x;
  c = c > hi ? splat(hi) : c;
  // n = round(c / ln 2) by the 1.5 * 2^23 trick; r = c - n ln 2 in two parts (Cody-Waite).
  constexpr float round_magic = 12582912.0f;
  const Vec<float> n = (c * 1.44269504088896341f + round_magic) - round_magic;
  const Vec<float> r = (c - n * 0.693359375f) + n * 2.12194440e-4f;
  Vec<float> p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  // 2^n from its exponent bits; n is in [-126, 127] after the clamp.
  const I bits = (__builtin_convertvector(n, I) + 127) << 23;
  Vec<float> two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  Vec<float> y = p * two_n;
  y = x < lo ? splat(0.0f) : y;
  return x > hi ? splat(std::numeric_limits<float>::infinity()) : y;
}

// f64 keeps the libm exp: the double kernels are the reference path, not the fast one.
[[gnu::always_inline]] inline Vec<double> exp(Vec<double> x) {
  for (int64_t i = 0; i < kLanes<double>; ++i) x[i] = std::exp(x[i]);
  return x;
}

}  // namespace subtb::cpu::vec
