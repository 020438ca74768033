// Reduction CPU kernels. The reduced dims of x are walked as an inner iteration space
// for every output element (the kept dims); full reductions split the inner space over
// threads and combine the partial results in a fixed order (deterministic for a given
// thread count).
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/loops.h"

namespace subtb::cpu {

namespace {

struct Split {
  Shape outer, outer_x_strides, outer_out_strides;  // kept dims
  Shape inner, inner_strides;                       // reduced dims
};

Split split_dims(const Tensor& x, uint32_t mask, const Tensor& out) {
  Split s;
  for (int i = 0; i < x.dim(); ++i) {
    if (mask & (1u << i)) {
      s.inner.push_back(x.shape()[i]);
      s.inner_strides.push_back(x.strides()[i]);
    } else {
      s.outer.push_back(x.shape()[i]);
      s.outer_x_strides.push_back(x.strides()[i]);
      s.outer_out_strides.push_back(out.strides()[i]);
    }
  }
  return s;
}

// Sum in the accumulator type A (f64 for floats, i64 for integers and bools).
template <class T, class A>
A sum_range(const T* base, const Shape& inner, const Strides& strides, bool parallel) {
  if (!parallel) {
    A acc = 0;
    for_each_row<1>(inner, {&strides}, [&](const std::array<int64_t, 1>& off, int64_t n,
                                           const std::array<int64_t, 1>& st) {
      const T* p = base + off[0];
      A local = 0;
      if (st[0] == 1) {
        for (int64_t j = 0; j < n; ++j) local += static_cast<A>(static_cast<compute_t<T>>(p[j]));
      } else {
        for (int64_t j = 0; j < n; ++j) local += static_cast<A>(static_cast<compute_t<T>>(p[j * st[0]]));
      }
      acc += local;
    }, /*allow_parallel=*/false);
    return acc;
  }
  // Parallel: each thread sums whole rows into its own slot.
  std::vector<A> partial(static_cast<size_t>(omp_get_max_threads()), A(0));
  for_each_row<1>(inner, {&strides}, [&](const std::array<int64_t, 1>& off, int64_t n,
                                         const std::array<int64_t, 1>& st) {
    const T* p = base + off[0];
    A local = 0;
    for (int64_t j = 0; j < n; ++j) local += static_cast<A>(static_cast<compute_t<T>>(p[j * st[0]]));
    partial[static_cast<size_t>(omp_get_thread_num())] += local;
  });
  A acc = 0;
  for (A v : partial) acc += v;
  return acc;
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const Tensor& x, uint32_t dims, const Tensor& out) {
  SUBTB_CHECK(op == ReduceOp::sum, "reduce op ", static_cast<int>(op), ": not implemented on cpu");
  const Split s = split_dims(x, dims, out);
  visit_dtype(x.dtype(), [&]<class T>() {
    using A = std::conditional_t<std::is_floating_point_v<compute_t<T>>, double, int64_t>;
    visit_dtype(out.dtype(), [&]<class O>() {
      const T* xb = static_cast<const T*>(x.raw_data());
      O* ob = static_cast<O*>(out.raw_data());
      const int64_t outer_n = s.outer.numel();
      const bool parallel_inner = outer_n == 1 && s.inner.numel() >= kParallelThreshold;
      auto one = [&](int64_t xo, int64_t oo) {
        const A v = sum_range<T, A>(xb + xo, s.inner, s.inner_strides, parallel_inner);
        if constexpr (std::is_same_v<O, bool>) ob[oo] = v != 0;
        else ob[oo] = O(static_cast<compute_t<O>>(v));
      };
      // Walk the outer (kept) space; each row element reduces its inner space.
      for_each_row<2>(s.outer, {&s.outer_x_strides, &s.outer_out_strides},
                      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& st) {
                        for (int64_t j = 0; j < n; ++j) one(off[0] + j * st[0], off[1] + j * st[1]);
                      },
                      /*allow_parallel=*/outer_n * s.inner.numel() >= kParallelThreshold && outer_n > 1);
    });
  });
}

}  // namespace subtb::cpu
