// Inclusive scans along one dim on the GPU: cumsum and logcumsumexp, forwards or in
// reverse, with the CPU's semantics (kernels/cpu/scan.cpp): running values in f64
// (cumsum of integers and bools wraps in 64 bits and gives i64), and a running
// log-sum-exp kept as (max so far, sum of exp(x - max)), exact at the infinities.
//
// A scan is a set of lines (every position of the other dims). Many short lines: a thread
// per line walks it sequentially. Long lines: a block per line scans chunks of 256
// elements (warp shuffles within warps, shared memory across them) and carries each
// chunk's total into the next.
#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/loops.cuh"
#include "kernels/cuda/warp_shuffle.cuh"

namespace subtb::cuda {

namespace {

template <class T>
inline constexpr bool kFloating = std::is_floating_point_v<compute_t<T>>;

template <class T>
struct CumsumOp {
  using Acc = std::conditional_t<kFloating<T>, double, uint64_t>;
  using Out = std::conditional_t<kFloating<T>, T, int64_t>;
  __device__ Acc identity() const { return Acc(0); }
  __device__ Acc element(T v) const {
    if constexpr (kFloating<T>) {
      return static_cast<double>(static_cast<compute_t<T>>(v));
    } else {
      return static_cast<uint64_t>(static_cast<int64_t>(v));
    }
  }
  __device__ Acc merge(Acc a, Acc b) const { return a + b; }
  __device__ Out out(Acc a) const {
    if constexpr (kFloating<T>) {
      return Out(static_cast<compute_t<T>>(a));
    } else {
      return static_cast<int64_t>(a);
    }
  }
};

struct LseState {
  double max, scale;  // the set's log-sum-exp is max + log(scale)
};

template <class T>
struct LogcumsumexpOp {
  using Acc = LseState;
  using Out = T;
  __device__ Acc identity() const { return {-INFINITY, 0.0}; }
  __device__ Acc element(T v) const { return {static_cast<double>(static_cast<compute_t<T>>(v)), 1.0}; }
  // An empty or all -inf side adds nothing; equal maxima (infinities included) add their
  // scales without exp(inf - inf); NaN propagates.
  __device__ Acc merge(Acc a, Acc b) const {
    if (a.max != a.max || b.max != b.max) return {NAN, NAN};
    if (a.max == -INFINITY) return b.max == -INFINITY ? Acc{-INFINITY, a.scale + b.scale} : b;
    if (b.max == -INFINITY) return a;
    if (a.max == b.max) return {a.max, a.scale + b.scale};
    if (a.max > b.max) return {a.max, a.scale + b.scale * exp(b.max - a.max)};
    return {b.max, b.scale + a.scale * exp(a.max - b.max)};
  }
  // An all -inf prefix: -inf + log(scale) with scale >= 1, exactly -inf.
  __device__ Out out(Acc a) const { return Out(static_cast<compute_t<T>>(a.max + log(a.scale))); }
};

struct Line {
  OffsetCalc<2> calc;  // x and out offsets of each line's first element
  int64_t lines, n, x_step, out_step;
  bool reverse;
};

template <class T, class Op>
__global__ void scan_lines_kernel(const T* x, typename Op::Out* out, Line l, Op op) {
  for (int64_t i = global_thread(); i < l.lines; i += global_threads()) {
    int64_t off[2];
    l.calc.offsets(i, off);
    typename Op::Acc acc = op.identity();
    for (int64_t j = 0; j < l.n; ++j) {
      const int64_t p = l.reverse ? l.n - 1 - j : j;
      acc = op.merge(acc, op.element(x[off[0] + p * l.x_step]));
      out[off[1] + p * l.out_step] = op.out(acc);
    }
  }
}

// Inclusive scan of a warp's values (lane order).
template <class Op, class Acc>
__device__ __forceinline__ Acc warp_scan(const Op& op, Acc v, int lane) {
#pragma unroll
  for (int d = 1; d < 32; d <<= 1) {
    const Acc u = shfl_up(v, d);
    if (lane >= d) v = op.merge(u, v);
  }
  return v;
}

// One block (kThreads threads) per line.
template <class T, class Op>
__global__ void __launch_bounds__(kThreads) scan_block_kernel(const T* x, typename Op::Out* out, Line l, Op op) {
  using Acc = typename Op::Acc;
  constexpr int kWarps = kThreads / 32;
  __shared__ Acc warp_total[kWarps];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  for (int64_t line = blockIdx.x; line < l.lines; line += gridDim.x) {
    int64_t off[2];
    l.calc.offsets(line, off);
    Acc carry = op.identity();
    for (int64_t base = 0; base < l.n; base += kThreads) {
      const int64_t j = base + threadIdx.x;
      const int64_t p = l.reverse ? l.n - 1 - j : j;
      Acc v = j < l.n ? op.element(x[off[0] + p * l.x_step]) : op.identity();
      v = warp_scan(op, v, lane);
      if (lane == 31) warp_total[warp] = v;
      __syncthreads();
      if (warp == 0) {
        Acc t = lane < kWarps ? warp_total[lane] : op.identity();
        t = warp_scan(op, t, lane);
        if (lane < kWarps) warp_total[lane] = t;
      }
      __syncthreads();
      if (warp > 0) v = op.merge(warp_total[warp - 1], v);
      if (j < l.n) out[off[1] + p * l.out_step] = op.out(op.merge(carry, v));
      carry = op.merge(carry, warp_total[kWarps - 1]);
      __syncthreads();  // warp_total is rewritten by the next chunk
    }
  }
}

template <class T, class Op>
void scan_typed(CudaBackend& be, const Op& op, const Tensor& x, int dim, bool reverse, const Tensor& out) {
  using Out = typename Op::Out;
  SUBTB_CHECK(out.dtype() == dtype_of<Out>(), "scan: output ", describe(out), " should be ", dtype_of<Out>());
  if (x.numel() == 0) return;
  const bool scalar = x.dim() == 0;
  Shape lines_shape;
  Strides xs, os;
  for (int d = 0; d < x.dim(); ++d) {
    if (d == dim) continue;
    lines_shape.push_back(x.shape()[d]);
    xs.push_back(x.strides()[d]);
    os.push_back(out.strides()[d]);
  }
  Line l{make_offset_calc<2>(lines_shape, {&xs, &os}),
         lines_shape.numel(),
         scalar ? 1 : x.shape()[dim],
         scalar ? 0 : x.strides()[dim],
         scalar ? 0 : out.strides()[dim],
         reverse};
  const T* xp = static_cast<const T*>(x.raw_data());
  Out* op_out = static_cast<Out*>(out.raw_data());
  // A block per line when lines are long or too few to give every thread one.
  if (l.n >= 512 || l.lines < 16 * static_cast<int64_t>(be.sm_count())) {
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(l.lines, int64_t{1} << 20));
    scan_block_kernel<T, Op><<<blocks, kThreads, 0, be.stream()>>>(xp, op_out, l, op);
  } else {
    scan_lines_kernel<T, Op><<<grid_for(l.lines), kThreads, 0, be.stream()>>>(xp, op_out, l, op);
  }
  check_launch(std::is_same_v<Op, CumsumOp<T>> ? "cumsum" : "logcumsumexp", be.stream());
}

}  // namespace

void CudaBackend::scan(ScanOp op, const Tensor& x, int dim, bool reverse, const Tensor& out) {
  DeviceGuard guard(index_);
  visit_dtype(x.dtype(), [&]<class T>() {
    if (op == ScanOp::cumsum) return scan_typed<T>(*this, CumsumOp<T>{}, x, dim, reverse, out);
    if constexpr (kFloating<T>) return scan_typed<T>(*this, LogcumsumexpOp<T>{}, x, dim, reverse, out);
    SUBTB_THROW("logcumsumexp: expected a floating dtype, got ", describe(x));
  });
}

}  // namespace subtb::cuda
