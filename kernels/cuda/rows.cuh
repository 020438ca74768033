#pragma once
// Row kernels (softmax, the norms, cross-entropy) see a contiguous tensor as rows: a row
// is handled by a (bx)-thread row of a block (a warp for short rows, up to 256 threads
// for long ones), whose threads stride over the row and then combine their partial
// results with warp shuffles and, across warps, shared memory. Every thread of the row
// receives the combined value.
#include <cuda_runtime.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "kernels/backend.h"
#include "kernels/cuda/loops.cuh"
#include "tensor/tensor.h"

namespace subtb::cuda {

// Block shape for rows of length n: bx threads per row (a power of two from 32 to 256),
// kThreads / bx rows per block.
inline dim3 row_block(int64_t n) {
  const int bx = static_cast<int>(
      std::clamp<uint64_t>(std::bit_ceil(static_cast<uint64_t>(std::max<int64_t>(n, 1))) / 4, 32, kThreads));
  return dim3(bx, kThreads / bx);
}

inline unsigned row_grid(int64_t rows, dim3 block) {
  return static_cast<unsigned>(std::clamp<int64_t>((rows + block.y - 1) / block.y, 1, int64_t{1} << 20));
}

// Combines v over the bx threads of this block row with the associative `merge` and
// returns the result to all of them. Every thread of the block must call it (it
// synchronises the block); `scratch` holds kThreads / 32 values.
template <class V, class Merge>
__device__ __forceinline__ V row_allreduce(V v, Merge merge, V* scratch) {
#pragma unroll
  for (int delta = 16; delta > 0; delta >>= 1) v = merge(v, __shfl_xor_sync(0xffffffffu, v, delta));
  const int warps = blockDim.x / 32;
  if (warps > 1) {
    const int row = threadIdx.y, warp = threadIdx.x / 32;
    __syncthreads();  // the scratch may still be read from a previous call
    if (threadIdx.x % 32 == 0) scratch[row * warps + warp] = v;
    __syncthreads();
    v = scratch[row * warps];
    for (int w = 1; w < warps; ++w) v = merge(v, scratch[row * warps + w]);
  }
  return v;
}

struct Add {
  template <class V>
  __device__ V operator()(V a, V b) const {
    return a + b;
  }
};

struct Max {  // NaN-propagating
  template <class V>
  __device__ V operator()(V a, V b) const {
    return (a > b || a != a) ? a : b;
  }
};

// The running log-sum-exp of a thread's elements: (max so far, sum of exp(x - max)),
// exact at -inf: -inf entries add exactly 0, an all -inf set has max -inf and sum 0.
template <class C>
struct OnlineLse {
  C max, sum;

  __device__ void add(C x) {
    if (x > max) {
      sum = sum * exp(max - x) + C(1);  // exp(-inf) = 0 while max is -inf
      max = x;
    } else if (x != -INFINITY) {
      sum += exp(x - max);  // NaN stays NaN
    }
  }
  // -inf for an empty or all -inf set.
  __device__ C lse() const { return max + log(sum); }
};

// Merges two threads' states over a block row; every thread gets the row's state.
template <class C>
__device__ __forceinline__ OnlineLse<C> row_lse(OnlineLse<C> s, C* scratch) {
  const C m = row_allreduce(s.max, Max{}, scratch);
  const C scaled = s.max == -INFINITY ? C(0) : s.sum * exp(s.max - m);
  return {m, row_allreduce(scaled, Add{}, scratch)};
}

// The row of a block row: blockIdx.x * blockDim.y + threadIdx.y.
__device__ __forceinline__ int64_t block_row() { return static_cast<int64_t>(blockIdx.x) * blockDim.y + threadIdx.y; }

// Calls body(row, valid) for each row that this thread's block row serves: rows go
// blockDim.y to a block, the blocks striding over them. Past the last row, body still
// runs with valid false, so that every thread of the block reaches the same
// row_allreduce calls.
template <class Body>
__device__ __forceinline__ void for_each_block_row(int64_t rows, Body&& body) {
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * blockDim.y; base < rows;
       base += static_cast<int64_t>(gridDim.x) * blockDim.y) {
    const int64_t row = base + threadIdx.y;
    body(row, row < rows);
  }
}

// Runs kernel(o) with o = out when out is contiguous, else with a contiguous scratch
// tensor that is then copied into out. (Undefined outputs pass through.)
template <class Kernel>
void with_contiguous_output(const Tensor& out, Kernel&& kernel) {
  if (!out.defined() || out.is_contiguous()) return kernel(out);
  Tensor tmp = make_tensor(out.shape(), out.dtype(), out.device());
  kernel(tmp);
  backend(out.device()).copy(tmp, out);
}

}  // namespace subtb::cuda
