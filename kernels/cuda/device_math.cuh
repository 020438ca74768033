#pragma once
// Small device helpers shared by the CUDA kernels.
#include <cuda_runtime.h>

#include <cmath>

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

}  // namespace subtb::cuda
