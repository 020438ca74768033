#pragma once
// The elementwise engine of the CUDA kernels: out[i] = f(in_0[i], in_1[i], ...) over
// tensors of one shape with any strides (broadcast inputs have stride 0).
//
// Two paths:
//  - every operand contiguous and 16-byte aligned: each thread loads and stores 16 bytes
//    per operand at a time (V elements of the widest dtype), the memory system's widest
//    transaction, with a scalar tail;
//  - otherwise: the shape is first coalesced on the host (size-1 dims dropped, dims that
//    every operand steps through as one merged), and each thread turns its linear index
//    into one element offset per operand by division over at most kMaxDims dims.
// Kernels loop grid-stride, so a grid never needs more blocks than the cap below.
#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/cuda/cuda_check.h"
#include "tensor/tensor.h"

namespace subtb::cuda {

inline constexpr int kThreads = 256;

// Blocks for n items of work at `per_thread` items a thread (grid-stride beyond the cap).
inline unsigned grid_for(int64_t n, int64_t per_thread = 1) {
  const int64_t per_block = kThreads * per_thread;
  return static_cast<unsigned>(std::clamp<int64_t>((n + per_block - 1) / per_block, 1, int64_t{1} << 16));
}

__device__ __forceinline__ int64_t global_thread() {
  return blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
}
__device__ __forceinline__ int64_t global_threads() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

// Element offsets of K operands for a linear (row-major) index of a coalesced shape.
template <int K>
struct OffsetCalc {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[K][kMaxDims] = {};

  // i < the product of sizes. The outermost dim needs no division (i is its index by
  // then), so a one-dim layout (any contiguous tensor) costs a multiply per operand.
  __device__ __forceinline__ void offsets(int64_t i, int64_t (&off)[K]) const {
#pragma unroll
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int d = ndim - 1; d > 0; --d) {
      const int64_t size = sizes[d];
      const int64_t idx = i % size;
      i /= size;
#pragma unroll
      for (int k = 0; k < K; ++k) off[k] += idx * strides[k][d];
    }
    if (ndim > 0) {
#pragma unroll
      for (int k = 0; k < K; ++k) off[k] += i * strides[k][0];
    }
  }
};

// Coalesces `shape` for K operands with the given strides.
template <int K>
OffsetCalc<K> make_offset_calc(const Shape& shape, const std::array<const Strides*, K>& strides) {
  OffsetCalc<K> c;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (c.ndim > 0) {
      const int last = c.ndim - 1;
      bool merge = true;
      for (int k = 0; k < K; ++k) merge = merge && c.strides[k][last] == (*strides[k])[d] * shape[d];
      if (merge) {
        c.sizes[last] *= shape[d];
        for (int k = 0; k < K; ++k) c.strides[k][last] = (*strides[k])[d];
        continue;
      }
    }
    c.sizes[c.ndim] = shape[d];
    for (int k = 0; k < K; ++k) c.strides[k][c.ndim] = (*strides[k])[d];
    ++c.ndim;
  }
  return c;
}

// V elements of T, loaded or stored as one aligned transaction.
template <class T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

namespace detail {

template <class Out, class F, class... In, size_t... I>
__device__ __forceinline__ Out apply_at(const F& f, const int64_t* off, std::index_sequence<I...>, const In*... in) {
  return f(in[off[I + 1]]...);
}

template <int V, class Out, class F, class... In>
__device__ __forceinline__ Pack<Out, V> apply_pack(const F& f, const Pack<In, V>&... p) {
  Pack<Out, V> r;
#pragma unroll
  for (int j = 0; j < V; ++j) r.v[j] = f(p.v[j]...);
  return r;
}

template <int V, class Out, class F, class... In>
__global__ void map_contiguous_kernel(int64_t n, F f, Out* out, const In*... in) {
  const int64_t packs = n / V;
  for (int64_t i = global_thread(); i < packs; i += global_threads()) {
    reinterpret_cast<Pack<Out, V>*>(out)[i] = apply_pack<V, Out>(f, reinterpret_cast<const Pack<In, V>*>(in)[i]...);
  }
  for (int64_t i = packs * V + global_thread(); i < n; i += global_threads()) out[i] = f(in[i]...);
}

template <class Out, class F, class... In>
__global__ void map_strided_kernel(int64_t n, OffsetCalc<1 + sizeof...(In)> calc, F f, Out* out, const In*... in) {
  for (int64_t i = global_thread(); i < n; i += global_threads()) {
    int64_t off[1 + sizeof...(In)];
    calc.offsets(i, off);
    out[off[0]] = apply_at<Out>(f, off, std::index_sequence_for<In...>{}, in...);
  }
}

}  // namespace detail

// out[i] = f(in[i]...) with the element types given explicitly (f takes the inputs' element
// types and returns Out). Inputs must already have out's shape (expand them to broadcast).
template <class Out, class... In, class F>
void map(cudaStream_t stream, const char* name, const Tensor& out, F f,
         const std::conditional_t<true, Tensor, In>&... in) {
  const int64_t n = out.numel();
  if (n == 0) return;
  Out* o = static_cast<Out*>(out.raw_data());
  constexpr size_t widest = std::max({sizeof(Out), sizeof(In)...});
  constexpr int V = static_cast<int>(16 / widest);
  const bool contiguous = out.is_contiguous() && (in.is_contiguous() && ...);
  const bool vector_ok = reinterpret_cast<uintptr_t>(o) % (sizeof(Out) * V) == 0 &&
                         ((reinterpret_cast<uintptr_t>(in.raw_data()) % (sizeof(In) * V) == 0) && ...);
  if (contiguous && vector_ok) {
    detail::map_contiguous_kernel<V, Out>
        <<<grid_for(n, V), kThreads, 0, stream>>>(n, f, o, static_cast<const In*>(in.raw_data())...);
  } else if (contiguous) {
    detail::map_contiguous_kernel<1, Out>
        <<<grid_for(n), kThreads, 0, stream>>>(n, f, o, static_cast<const In*>(in.raw_data())...);
  } else {
    constexpr int K = 1 + sizeof...(In);
    const auto calc = make_offset_calc<K>(out.shape(), {&out.strides(), &in.strides()...});
    detail::map_strided_kernel<Out>
        <<<grid_for(n), kThreads, 0, stream>>>(n, calc, f, o, static_cast<const In*>(in.raw_data())...);
  }
  check_launch(name, stream);
}

// A contiguous tensor with t's values on t's device (t itself when it already is one).
// Defined in memory.cu.
Tensor contiguous_on_device(const Tensor& t);

// The compute type of T as a float or double (for the floating kernels).
template <class T>
using float_compute_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

}  // namespace subtb::cuda
