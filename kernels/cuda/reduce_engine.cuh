#pragma once
// The CUDA reduction engine shared by reduce, var and arg_reduce.
//
// x's dims split into kept dims (one output per position, row-major: the index of a
// contiguous keepdim output) and reduced dims (the mask). Each is coalesced into an
// OffsetCalc, so output o and reduced index r address x[kept(o) + reduced(r)].
//
// A block of 256 threads is a (bx, by) grid. When x's innermost (smallest-stride) dim is
// reduced, the threads of a warp take consecutive reduced elements of one output (reads
// coalesce along the reduced dim) and combine with warp shuffles; otherwise they take
// consecutive outputs (reads coalesce along the kept dim) and the by threads of each
// output combine through shared memory. When there are too few outputs to fill the GPU,
// the reduced range is split over gridDim.y blocks that write partial accumulators, and a
// second kernel merges them in a fixed order (so results do not depend on timing).
//
// An Op is a device functor over x's element type T:
//   using Acc = ...;                                  trivially copyable, size % 4 == 0
//   Acc init() const;                                 the identity
//   Acc step(Acc a, T v, int64_t o, int64_t r) const; folds element r of output o
//   Acc merge(Acc a, Acc b) const;                    associative
//   void write(Acc a, int64_t o) const;               stores output o
#include <cuda_runtime.h>

#include <bit>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/loops.cuh"
#include "kernels/cuda/warp_shuffle.cuh"

namespace subtb::cuda {

struct ReduceGeometry {
  OffsetCalc<1> kept, reduced;
  int64_t n_out = 1, n_red = 1;
  int64_t chunk = 0;   // reduced elements per slice (blockIdx.y)
  bool inner = false;  // x's innermost dim is reduced
};

// Plans the reduction of the dims of x in `mask`.
inline ReduceGeometry plan_reduce(const Tensor& x, uint32_t mask) {
  ReduceGeometry g;
  Shape kept, reduced;
  Strides kept_strides, reduced_strides;
  int64_t best = -1;
  for (int d = 0; d < x.dim(); ++d) {
    const int64_t size = x.shape()[d], stride = x.strides()[d];
    if ((mask >> d) & 1u) {
      reduced.push_back(size);
      reduced_strides.push_back(stride);
    } else {
      kept.push_back(size);
      kept_strides.push_back(stride);
    }
    const int64_t magnitude = stride < 0 ? -stride : stride;
    if (size > 1 && (best < 0 || magnitude <= best)) {
      best = magnitude;
      g.inner = (mask >> d) & 1u;
    }
  }
  g.kept = make_offset_calc<1>(kept, {&kept_strides});
  g.reduced = make_offset_calc<1>(reduced, {&reduced_strides});
  g.n_out = kept.numel();
  g.n_red = reduced.numel();
  return g;
}

namespace detail {

template <class Op, class Acc>
__device__ __forceinline__ Acc warp_reduce(const Op& op, Acc a) {
#pragma unroll
  for (int delta = 16; delta > 0; delta >>= 1) a = op.merge(a, shfl_down(a, delta));
  return a;  // lane 0 holds the warp's result
}

template <class T, class Op>
__global__ void __launch_bounds__(kThreads)
    reduce_kernel(const T* x, ReduceGeometry g, Op op, typename Op::Acc* partial) {
  using Acc = typename Op::Acc;
  __shared__ Acc smem[kThreads];
  const int bx = blockDim.x, by = blockDim.y, tx = threadIdx.x, ty = threadIdx.y;
  const int64_t o = g.inner ? blockIdx.x * static_cast<int64_t>(by) + ty : blockIdx.x * static_cast<int64_t>(bx) + tx;
  const int lane = g.inner ? tx : ty, lanes = g.inner ? bx : by;
  const int64_t begin = blockIdx.y * g.chunk, end = min(begin + g.chunk, g.n_red);

  Acc acc = op.init();
  if (o < g.n_out) {
    int64_t base[1];
    g.kept.offsets(o, base);
    for (int64_t r = begin + lane; r < end; r += lanes) {
      int64_t off[1];
      g.reduced.offsets(r, off);
      acc = op.step(acc, x[base[0] + off[0]], o, r);
    }
  }

  bool leader;
  if (g.inner) {  // bx is a multiple of 32: a row of warps per output
    acc = warp_reduce(op, acc);
    const int warps = bx / 32;
    if (warps > 1) {
      if (tx % 32 == 0) smem[ty * warps + tx / 32] = acc;
      __syncthreads();
      if (tx < 32) acc = warp_reduce(op, tx < warps ? smem[ty * warps + tx] : op.init());
    }
    leader = tx == 0;
  } else {
    smem[ty * bx + tx] = acc;
    __syncthreads();
    for (int s = by / 2; s > 0; s >>= 1) {
      if (ty < s) smem[ty * bx + tx] = op.merge(smem[ty * bx + tx], smem[(ty + s) * bx + tx]);
      __syncthreads();
    }
    acc = smem[tx];
    leader = ty == 0;
  }
  if (leader && o < g.n_out) {
    if (gridDim.y == 1) {
      op.write(acc, o);
    } else {
      partial[o * gridDim.y + blockIdx.y] = acc;
    }
  }
}

template <class Op>
__global__ void reduce_finish_kernel(int64_t n_out, int slices, const typename Op::Acc* partial, Op op) {
  for (int64_t o = global_thread(); o < n_out; o += global_threads()) {
    typename Op::Acc acc = partial[o * slices];
    for (int s = 1; s < slices; ++s) acc = op.merge(acc, partial[o * slices + s]);
    op.write(acc, o);
  }
}

}  // namespace detail

// Runs `op` over the plan `g` of x (whose elements are T).
template <class T, class Op>
void run_reduce(CudaBackend& be, const char* name, const T* x, ReduceGeometry g, const Op& op) {
  using Acc = typename Op::Acc;
  if (g.n_out == 0) return;
  // Threads along the reduced dim: a power of two from 32 (one warp) to 256, by the reduced
  // length; in the other layout up to 8 threads share an output.
  int bx, by;
  if (g.inner) {
    bx = static_cast<int>(
        std::clamp<int64_t>(std::bit_ceil(static_cast<uint64_t>(std::max<int64_t>(g.n_red, 1))), 32, kThreads));
    by = kThreads / bx;
  } else {
    by = static_cast<int>(std::min<int64_t>(std::bit_ceil(static_cast<uint64_t>(std::max<int64_t>(g.n_red, 1))), 8));
    bx = kThreads / by;
  }
  const int64_t outputs_per_block = g.inner ? by : bx;
  const int64_t blocks = (g.n_out + outputs_per_block - 1) / outputs_per_block;
  SUBTB_CHECK(blocks < (int64_t{1} << 31), name, ": ", g.n_out, " outputs exceed the grid");
  // Split the reduced range while the grid would leave SMs idle and every thread would
  // still fold at least 16 elements.
  const int64_t lanes = g.inner ? bx : by;
  const int64_t target_blocks = 4 * static_cast<int64_t>(be.sm_count());
  int64_t slices = 1;
  if (blocks < target_blocks) {
    slices = std::min<int64_t>({(target_blocks + blocks - 1) / blocks, g.n_red / (lanes * 16), 1024});
    slices = std::max<int64_t>(slices, 1);
  }
  g.chunk = (g.n_red + slices - 1) / slices;
  if (g.chunk == 0) g.chunk = 1;
  slices = std::max<int64_t>((g.n_red + g.chunk - 1) / g.chunk, 1);

  Tensor partial;
  Acc* partial_ptr = nullptr;
  if (slices > 1) {
    partial = make_tensor(Shape{g.n_out * slices * static_cast<int64_t>(sizeof(Acc))}, DType::b8, be.device());
    partial_ptr = static_cast<Acc*>(partial.raw_data());
  }
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(slices));
  detail::reduce_kernel<T, Op><<<grid, dim3(bx, by), 0, be.stream()>>>(x, g, op, partial_ptr);
  check_launch(name, be.stream());
  if (slices > 1) {
    detail::reduce_finish_kernel<Op>
        <<<grid_for(g.n_out), kThreads, 0, be.stream()>>>(g.n_out, static_cast<int>(slices), partial_ptr, op);
    check_launch(name, be.stream());
  }
}

}  // namespace subtb::cuda
