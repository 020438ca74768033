#pragma once
// Small device helpers shared by the CUDA kernels.
#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

#include "tensor/dtype.h"

namespace subtb::cuda {

// Loads an element as the compute type C (f32 for the 16-bit floats and f32, f64 for f64).
template <class C, class T>
__device__ __forceinline__ C load_as(const T* p, int64_t i) {
  return static_cast<C>(static_cast<compute_t<T>>(p[i]));
}

template <class T, class C>
__device__ __forceinline__ void store_as(T* p, int64_t i, C v) {
  p[i] = T(static_cast<compute_t<T>>(v));
}

// log(exp(a) + exp(b)), exact at -inf.
template <class C>
__device__ __forceinline__ C log_add_exp(C a, C b) {
  const C m = a > b ? a : b;
  if (isinf(m) && m < 0) return m;
  return m + log1p(exp(-fabs(a - b)));
}

// Elementwise conversion between any two dtypes, through the wider compute type (the same
// rules as the CPU's copy): to bool is "not zero"; the 16-bit floats go through f32.
template <class To, class From>
__device__ __forceinline__ To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return static_cast<compute_t<From>>(v) != compute_t<From>(0);
  } else if constexpr (std::is_same_v<From, BFloat16> || std::is_same_v<From, Half>) {
    return To(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, BFloat16> || std::is_same_v<To, Half>) {
    return To(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

}  // namespace subtb::cuda
