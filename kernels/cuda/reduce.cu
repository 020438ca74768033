// Reduction CUDA kernels: reduce, var and arg_reduce, each an Op run by the engine in
// reduce_engine.cuh, with the CPU's semantics (kernels/cpu/reduce.cpp): sums, means and
// products accumulate in f64 for f32 and f64 and in f32 for the 16-bit floats; integer and
// bool sums and products wrap in 64 bits and give i64; max and min propagate NaN;
// logsumexp and var take two passes (the max or the mean first).
#include <cuda_runtime.h>

#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/device_math.cuh"
#include "kernels/cuda/reduce_engine.cuh"

namespace subtb::cuda {

namespace {

template <class T>
inline constexpr bool kFloating = std::is_floating_point_v<compute_t<T>>;

// The accumulator of sums and products.
template <class T>
using SumAcc = std::conditional_t<kFloating<T>, std::conditional_t<(sizeof(T) >= 4), double, float>, uint64_t>;

template <class T>
__device__ __forceinline__ SumAcc<T> widen(T v) {
  if constexpr (kFloating<T>) {
    return static_cast<SumAcc<T>>(static_cast<compute_t<T>>(v));
  } else {
    return static_cast<uint64_t>(static_cast<int64_t>(v));
  }
}

// Stores an accumulator as O (integers wrap back to signed).
template <class O, class A>
__device__ __forceinline__ O narrow(A a) {
  if constexpr (std::is_same_v<O, bool>) {
    return a != A(0);
  } else if constexpr (std::is_same_v<A, uint64_t>) {
    return static_cast<O>(static_cast<int64_t>(a));
  } else {
    return O(static_cast<compute_t<O>>(a));
  }
}

// sum, mean (scale = 1 / n) and the mean pass of var (O = double).
template <class T, class O>
struct SumOp {
  using Acc = SumAcc<T>;
  O* out;
  double scale;  // 1 for sums
  __device__ Acc init() const { return Acc(0); }
  __device__ Acc step(Acc a, T v, int64_t, int64_t) const { return a + widen(v); }
  __device__ Acc merge(Acc a, Acc b) const { return a + b; }
  __device__ void write(Acc a, int64_t o) const {
    if constexpr (kFloating<T>) {
      out[o] = narrow<O>(scale == 1.0 ? a : static_cast<Acc>(static_cast<double>(a) * scale));
    } else {
      out[o] = narrow<O>(a);
    }
  }
};

template <class T, class O>
struct ProdOp {
  using Acc = SumAcc<T>;
  O* out;
  __device__ Acc init() const { return Acc(1); }
  __device__ Acc step(Acc a, T v, int64_t, int64_t) const { return a * widen(v); }
  __device__ Acc merge(Acc a, Acc b) const { return a * b; }
  __device__ void write(Acc a, int64_t o) const { out[o] = narrow<O>(a); }
};

// Whether v beats the current best b: NaN beats everything, so that it propagates.
template <bool kMax, class C>
__device__ __forceinline__ bool beats(C v, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    return (kMax ? v > b : v < b) || (v != v && b == b);
  } else {
    return kMax ? v > b : v < b;
  }
}

// The compute type of max / min, widened to a 32-bit word for bool (warp shuffles move words).
template <class T>
using ExtremumAcc = std::conditional_t<std::is_same_v<T, bool>, int, compute_t<T>>;

template <class T, bool kMax>
__device__ __forceinline__ ExtremumAcc<T> extremum_identity() {
  using A = ExtremumAcc<T>;
  if constexpr (std::is_floating_point_v<A>) {
    return kMax ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity();
  } else if constexpr (std::is_same_v<T, bool>) {
    return kMax ? 0 : 1;
  } else {
    return kMax ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max();
  }
}

// max / min into O (x's dtype), or the logsumexp shift (O = float or double, the max where
// finite and 0 otherwise, so that all -inf gives -inf, +inf gives +inf and NaN stays NaN).
template <class T, bool kMax, class O, bool kShift = false>
struct ExtremumOp {
  using Acc = ExtremumAcc<T>;
  O* out;
  __device__ Acc init() const { return extremum_identity<T, kMax>(); }
  __device__ Acc step(Acc a, T v, int64_t, int64_t) const {
    return merge(a, static_cast<Acc>(static_cast<compute_t<T>>(v)));
  }
  __device__ Acc merge(Acc a, Acc b) const { return beats<kMax>(b, a) ? b : a; }
  __device__ void write(Acc a, int64_t o) const {
    if constexpr (kShift) {
      out[o] = isfinite(a) ? O(a) : O(0);
    } else {
      out[o] = O(static_cast<compute_t<O>>(a));
    }
  }
};

template <class T, bool kAll>
struct LogicalOp {
  using Acc = int;
  bool* out;
  __device__ Acc init() const { return kAll; }
  __device__ Acc step(Acc a, T v, int64_t, int64_t) const {
    return merge(a, static_cast<compute_t<T>>(v) != compute_t<T>(0));
  }
  __device__ Acc merge(Acc a, Acc b) const { return kAll ? (a && b) : (a || b); }
  __device__ void write(Acc a, int64_t o) const { out[o] = a != 0; }
};

// sum(exp(x - shift[o])) -> log(sum) + shift[o]; exp runs in x's compute type.
template <class T, class S>
struct SumExpOp {
  using Acc = SumAcc<T>;
  using C = compute_t<T>;
  T* out;
  const S* shift;
  __device__ Acc init() const { return Acc(0); }
  __device__ Acc step(Acc a, T v, int64_t o, int64_t) const {
    return a + static_cast<Acc>(exp(static_cast<C>(v) - static_cast<C>(shift[o])));
  }
  __device__ Acc merge(Acc a, Acc b) const { return a + b; }
  __device__ void write(Acc a, int64_t o) const { out[o] = narrow<T>(log(a) + static_cast<Acc>(shift[o])); }
};

// sum((x - mean[o])^2) / divisor.
template <class T>
struct SquaredDeviationOp {
  using Acc = SumAcc<T>;
  T* out;
  const double* mean;
  double divisor;
  __device__ Acc init() const { return Acc(0); }
  __device__ Acc step(Acc a, T v, int64_t o, int64_t) const {
    const Acc d = static_cast<Acc>(static_cast<compute_t<T>>(v)) - static_cast<Acc>(mean[o]);
    return a + d * d;
  }
  __device__ Acc merge(Acc a, Acc b) const { return a + b; }
  __device__ void write(Acc a, int64_t o) const { out[o] = narrow<T>(static_cast<double>(a) / divisor); }
};

// The extremum and the first index that attains it (ties and NaNs: the lower index).
template <class T>
struct ArgAcc {
  ExtremumAcc<T> value;
  int64_t index;
};

template <class T, bool kMax>
struct ArgOp {
  using Acc = ArgAcc<T>;
  T* values;
  int64_t* indices;
  __device__ Acc init() const { return {extremum_identity<T, kMax>(), std::numeric_limits<int64_t>::max()}; }
  __device__ Acc step(Acc a, T v, int64_t, int64_t r) const {
    return merge(a, Acc{static_cast<ExtremumAcc<T>>(static_cast<compute_t<T>>(v)), r});
  }
  __device__ Acc merge(Acc a, Acc b) const {
    if (beats<kMax>(b.value, a.value)) return b;
    if (beats<kMax>(a.value, b.value)) return a;
    return b.index < a.index ? b : a;
  }
  __device__ void write(Acc a, int64_t o) const {
    values[o] = T(static_cast<compute_t<T>>(a.value));
    indices[o] = a.index;
  }
};

int64_t reduced_count(const Tensor& x, uint32_t mask) {
  int64_t n = 1;
  for (int d = 0; d < x.dim(); ++d)
    if ((mask >> d) & 1u) n *= x.shape()[d];
  return n;
}

// Kernels write contiguous outputs; a strided one is filled through a contiguous copy.
template <class Kernel>
void with_contiguous(CudaBackend& be, const Tensor& out, Kernel&& kernel) {
  if (out.is_contiguous()) return kernel(out);
  Tensor tmp = make_tensor(out.shape(), out.dtype(), out.device());
  kernel(tmp);
  be.copy(tmp, out);
}

template <class O>
O* output(const Tensor& out, const char* kernel) {
  SUBTB_CHECK(out.dtype() == dtype_of<O>(), kernel, ": output ", describe(out), " should be ", dtype_of<O>());
  return static_cast<O*>(out.raw_data());
}

// A scratch vector of one value per output.
template <class S>
Tensor per_output(CudaBackend& be, int64_t n) {
  return make_tensor(Shape{n}, dtype_of<S>(), be.device());
}

template <class T>
void reduce_typed(CudaBackend& be, ReduceOp op, const Tensor& x, uint32_t mask, const Tensor& out) {
  const ReduceGeometry g = plan_reduce(x, mask);
  const T* xp = static_cast<const T*>(x.raw_data());
  using Wider = std::conditional_t<kFloating<T>, T, int64_t>;
  switch (op) {
    case ReduceOp::sum:
      return run_reduce(be, "sum", xp, g, SumOp<T, Wider>{output<Wider>(out, "sum"), 1.0});
    case ReduceOp::prod:
      return run_reduce(be, "prod", xp, g, ProdOp<T, Wider>{output<Wider>(out, "prod")});
    case ReduceOp::max:
      return run_reduce(be, "max", xp, g, ExtremumOp<T, true, T>{output<T>(out, "max")});
    case ReduceOp::min:
      return run_reduce(be, "min", xp, g, ExtremumOp<T, false, T>{output<T>(out, "min")});
    case ReduceOp::all:
      return run_reduce(be, "all", xp, g, LogicalOp<T, true>{output<bool>(out, "all")});
    case ReduceOp::any:
      return run_reduce(be, "any", xp, g, LogicalOp<T, false>{output<bool>(out, "any")});
    case ReduceOp::mean:
      if constexpr (kFloating<T>) {
        // 0 / 0 = NaN for an empty mean, as on the CPU.
        const double n = static_cast<double>(reduced_count(x, mask));
        return run_reduce(be, "mean", xp, g, SumOp<T, T>{output<T>(out, "mean"), 1.0 / n});
      }
      break;
    case ReduceOp::logsumexp:
      if constexpr (kFloating<T>) {
        using S = float_compute_t<T>;
        Tensor shift = per_output<S>(be, g.n_out);
        run_reduce(be, "logsumexp", xp, g, ExtremumOp<T, true, S, true>{shift.data<S>()});
        return run_reduce(be, "logsumexp", xp, g, SumExpOp<T, S>{output<T>(out, "logsumexp"), shift.data<S>()});
      }
      break;
  }
  SUBTB_THROW("reduce: op ", static_cast<int>(op), " does not apply to ", describe(x));
}

}  // namespace

void CudaBackend::reduce(ReduceOp op, const Tensor& x, uint32_t dims, const Tensor& out) {
  DeviceGuard guard(index_);
  with_contiguous(*this, out, [&](const Tensor& o) {
    visit_dtype(x.dtype(), [&]<class T>() { reduce_typed<T>(*this, op, x, dims, o); });
  });
}

void CudaBackend::var(const Tensor& x, uint32_t dims, int64_t correction, const Tensor& out) {
  DeviceGuard guard(index_);
  with_contiguous(*this, out, [&](const Tensor& o) {
    visit_floating(x.dtype(), "var", [&]<class T>() {
      const ReduceGeometry g = plan_reduce(x, dims);
      const T* xp = static_cast<const T*>(x.raw_data());
      const int64_t n = reduced_count(x, dims);
      Tensor mean = per_output<double>(*this, g.n_out);
      run_reduce(*this, "var", xp, g, SumOp<T, double>{mean.data<double>(), 1.0 / static_cast<double>(n)});
      // As in PyTorch, n <= correction divides by 0 (NaN or inf).
      const double divisor = static_cast<double>(std::max<int64_t>(0, n - correction));
      run_reduce(*this, "var", xp, g, SquaredDeviationOp<T>{output<T>(o, "var"), mean.data<double>(), divisor});
    });
  });
}

void CudaBackend::arg_reduce(ArgReduceOp op, const Tensor& x, int dim, const Tensor& values, const Tensor& indices) {
  DeviceGuard guard(index_);
  with_contiguous(*this, values, [&](const Tensor& v) {
    with_contiguous(*this, indices, [&](const Tensor& i) {
      visit_dtype(x.dtype(), [&]<class T>() {
        const ReduceGeometry g = plan_reduce(x, x.dim() == 0 ? 0u : 1u << dim);
        const T* xp = static_cast<const T*>(x.raw_data());
        T* vp = output<T>(v, "arg_reduce");
        int64_t* ip = output<int64_t>(i, "arg_reduce");
        if (op == ArgReduceOp::max) {
          run_reduce(*this, "argmax", xp, g, ArgOp<T, true>{vp, ip});
        } else {
          run_reduce(*this, "argmin", xp, g, ArgOp<T, false>{vp, ip});
        }
      });
    });
  });
}

}  // namespace subtb::cuda
