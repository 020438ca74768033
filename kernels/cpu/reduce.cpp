// Reduction CPU kernels: reduce, var and arg_reduce, each an accumulator policy run by
// the engine in reduce_engine.h. Floating sums (and the sums inside mean, var and
// logsumexp) accumulate in f64; integer sums and products wrap in 64 bits.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/reduce_engine.h"

namespace subtb::cpu {

namespace {

template <class T>
inline constexpr bool kFloating = std::is_floating_point_v<compute_t<T>>;

// The accumulator of sums and products: f64 for floats, wrapping 64-bit for the rest.
template <class T>
using Wide = std::conditional_t<kFloating<T>, double, uint64_t>;

template <class T>
Wide<T> widen(T v) {
  if constexpr (kFloating<T>)
    return static_cast<double>(static_cast<compute_t<T>>(v));
  else
    return static_cast<uint64_t>(static_cast<int64_t>(v));
}

// Stores an accumulator into an element of type O (integers wrap back to signed).
template <class O, class A>
O narrow(A a) {
  if constexpr (std::is_same_v<O, bool>)
    return a != A(0);
  else if constexpr (std::is_same_v<A, uint64_t>)
    return static_cast<O>(static_cast<int64_t>(a));
  else
    return O(static_cast<compute_t<O>>(a));
}

template <class T>
struct SumOp {
  using Acc = Wide<T>;
  static constexpr bool kAux = false;
  Acc init() const { return 0; }
  Acc step(Acc a, T v, double) const { return a + widen(v); }
  Acc merge(Acc a, Acc b) const { return a + b; }

  // Contiguous f32 runs: 16 f32 chains over blocks of 2048 elements (each chain adds 128
  // terms, so a block's error is that of a 128-term f32 sum), and every block's total
  // added in f64. Full f32 vector throughput, with f64 accumulation across blocks:
  // converting every element to f64 halved the speed of large sums.
  Acc run(const float* p, int64_t n) const
    requires std::is_same_v<T, float>
  {
    constexpr int64_t kBlock = 2048, kChains = 16;
    double total = 0.0;
    int64_t i = 0;
    while (n - i >= kChains) {
      const int64_t len = std::min(kBlock, (n - i) / kChains * kChains);
      float chain[kChains] = {};
      for (int64_t k = 0; k < len; k += kChains)
        for (int64_t j = 0; j < kChains; ++j) chain[j] += p[i + k + j];
      for (int64_t j = 0; j < kChains; ++j) total += chain[j];
      i += len;
    }
    for (; i < n; ++i) total += p[i];
    return total;
  }
};

template <class T>
struct ProdOp {
  using Acc = Wide<T>;
  static constexpr bool kAux = false;
  Acc init() const { return 1; }
  Acc step(Acc a, T v, double) const { return a * widen(v); }
  Acc merge(Acc a, Acc b) const { return a * b; }
};

// Whether v beats the current best b for a max (or min): NaN beats everything, so that
// NaN propagates, and nothing beats an earlier NaN.
template <bool kMax, class C>
bool beats(C v, C b) {
  if constexpr (std::is_floating_point_v<C>)
    return (kMax ? v > b : v < b) || (v != v && b == b);
  else
    return kMax ? v > b : v < b;
}

template <class T, bool kMax>
struct ExtremumOp {
  using Acc = compute_t<T>;
  static constexpr bool kAux = false;
  Acc init() const {
    if constexpr (std::is_floating_point_v<Acc>)
      return kMax ? -std::numeric_limits<Acc>::infinity() : std::numeric_limits<Acc>::infinity();
    else
      return kMax ? std::numeric_limits<Acc>::lowest() : std::numeric_limits<Acc>::max();
  }
  Acc step(Acc a, T v, double) const { return merge(a, static_cast<Acc>(v)); }
  Acc merge(Acc a, Acc b) const { return beats<kMax>(b, a) ? b : a; }

  // The compiler does not vectorise the NaN-aware select above, so contiguous runs use
  // GCC vector extensions: a plain select per lane, with NaNs tracked on the side.
  Acc run(const T* p, int64_t n) const requires(std::is_same_v<T, Acc> && !std::is_same_v<T, bool>) {
    typedef Acc Vec __attribute__((vector_size(kLanes * sizeof(Acc))));
    Vec best = Vec{} + init();
    decltype(best != best) nan{};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
      Vec v;
      std::memcpy(&v, p + i, sizeof v);
      if constexpr (kMax)
        best = v > best ? v : best;
      else
        best = v < best ? v : best;
      if constexpr (std::is_floating_point_v<Acc>) nan |= v != v;
    }
    Acc acc = init();
    bool any_nan = false;
    for (int j = 0; j < kLanes; ++j) {
      acc = merge(acc, best[j]);
      any_nan = any_nan || nan[j] != 0;
    }
    for (; i < n; ++i) acc = step(acc, p[i], 0.0);
    if constexpr (std::is_floating_point_v<Acc>)
      if (any_nan) return std::numeric_limits<Acc>::quiet_NaN();
    return acc;
  }
};

template <class T, bool kAll>
struct LogicalOp {
  using Acc = bool;
  static constexpr bool kAux = false;
  Acc init() const { return kAll; }
  Acc step(Acc a, T v, double) const { return merge(a, static_cast<compute_t<T>>(v) != compute_t<T>(0)); }
  Acc merge(Acc a, Acc b) const { return kAll ? (a && b) : (a || b); }
};

// sum(exp(x - shift)) with the per-output shift in aux; exp runs in x's compute type.
template <class T>
struct SumExpOp {
  using Acc = double;
  static constexpr bool kAux = true;
  Acc init() const { return 0; }
  Acc step(Acc a, T v, double shift) const {
    using C = compute_t<T>;
    return a + static_cast<double>(std::exp(static_cast<C>(v) - static_cast<C>(shift)));
  }
  Acc merge(Acc a, Acc b) const { return a + b; }
};

// sum((x - mean)^2) with the per-output mean in aux.
template <class T>
struct SquaredDeviationOp {
  using Acc = double;
  static constexpr bool kAux = true;
  Acc init() const { return 0; }
  Acc step(Acc a, T v, double mean) const {
    const double d = static_cast<double>(static_cast<compute_t<T>>(v)) - mean;
    return a + d * d;
  }
  Acc merge(Acc a, Acc b) const { return a + b; }
};

int64_t reduced_count(const Tensor& x, uint32_t mask) {
  int64_t n = 1;
  for (int d = 0; d < x.dim(); ++d)
    if ((mask >> d) & 1u) n *= x.shape()[d];
  return n;
}

// Kernels write contiguous outputs; a strided one is filled through a contiguous copy.
template <class Kernel>
void with_contiguous(const Tensor& out, Kernel&& kernel) {
  if (out.is_contiguous()) return kernel(out);
  Tensor tmp = make_tensor(out.shape(), out.dtype(), out.device());
  kernel(tmp);
  cpu_backend().copy(tmp, out);
}

template <class O>
O* output(const Tensor& out, const char* kernel) {
  SUBTB_CHECK(out.dtype() == dtype_of<O>(), kernel, ": output ", describe(out), " should be ", dtype_of<O>());
  return static_cast<O*>(out.raw_data());
}

template <class T>
void reduce_typed(ReduceOp op, const Tensor& x, uint32_t mask, const Tensor& out) {
  using C = compute_t<T>;
  const ReducePlan plan = plan_reduction(x, mask, out.strides());
  const T* xp = static_cast<const T*>(x.raw_data());
  const int64_t n_out = out.numel();
  auto run = [&](const auto& rop, const double* aux, auto&& sink) {
    run_reduce(plan, xp, x.numel(), n_out, rop, aux, sink);
  };
  // Sums and products of integers and bools are i64; everything else keeps x's dtype.
  using Wider = std::conditional_t<kFloating<T>, T, int64_t>;

  switch (op) {
    case ReduceOp::sum: {
      Wider* o = output<Wider>(out, "reduce");
      return run(SumOp<T>{}, nullptr, [o](int64_t i, Wide<T> a) { o[i] = narrow<Wider>(a); });
    }
    case ReduceOp::prod: {
      Wider* o = output<Wider>(out, "reduce");
      return run(ProdOp<T>{}, nullptr, [o](int64_t i, Wide<T> a) { o[i] = narrow<Wider>(a); });
    }
    case ReduceOp::max: {
      T* o = output<T>(out, "reduce");
      return run(ExtremumOp<T, true>{}, nullptr, [o](int64_t i, C a) { o[i] = T(a); });
    }
    case ReduceOp::min: {
      T* o = output<T>(out, "reduce");
      return run(ExtremumOp<T, false>{}, nullptr, [o](int64_t i, C a) { o[i] = T(a); });
    }
    case ReduceOp::all: {
      bool* o = output<bool>(out, "reduce");
      return run(LogicalOp<T, true>{}, nullptr, [o](int64_t i, bool a) { o[i] = a; });
    }
    case ReduceOp::any: {
      bool* o = output<bool>(out, "reduce");
      return run(LogicalOp<T, false>{}, nullptr, [o](int64_t i, bool a) { o[i] = a; });
    }
    case ReduceOp::mean:
      if constexpr (kFloating<T>) {
        T* o = output<T>(out, "reduce");
        const double n = static_cast<double>(reduced_count(x, mask));  // 0 / 0 = NaN for empty means
        return run(SumOp<T>{}, nullptr, [o, n](int64_t i, double a) { o[i] = narrow<T>(a / n); });
      }
      break;
    case ReduceOp::logsumexp:
      if constexpr (kFloating<T>) {
        // Two passes: the max, then sum(exp(x - max)). An infinite or NaN max shifts by 0,
        // so that all -inf gives log(0) = -inf, any +inf gives +inf and NaN stays NaN.
        T* o = output<T>(out, "reduce");
        std::vector<double> shift(static_cast<size_t>(n_out));
        run(ExtremumOp<T, true>{}, nullptr,
            [&shift](int64_t i, C m) { shift[static_cast<size_t>(i)] = std::isfinite(m) ? m : 0.0; });
        return run(SumExpOp<T>{}, shift.data(),
                   [o, &shift](int64_t i, double s) { o[i] = narrow<T>(std::log(s) + shift[static_cast<size_t>(i)]); });
      }
      break;
  }
  SUBTB_THROW("reduce: op ", static_cast<int>(op), " does not apply to ", describe(x));
}

// Max or min of each output slice with the first index that attains it.
template <class T, bool kMax>
void arg_reduce_typed(const Tensor& x, int dim, const Tensor& values, const Tensor& indices) {
  using C = compute_t<T>;
  const uint32_t mask = x.dim() == 0 ? 0u : 1u << dim;
  const ReducePlan plan = plan_reduction(x, mask, values.strides());
  const T* xp = static_cast<const T*>(x.raw_data());
  T* vo = output<T>(values, "arg_reduce");
  int64_t* io = output<int64_t>(indices, "arg_reduce");
  if (x.numel() == 0) return;  // the front end refuses empty reduced dims
  const int64_t n = plan.reduced.numel();
  const int64_t rs = plan.reduced.ndim == 0 ? 0 : plan.reduced.x_stride[0];
  const ExtremumOp<T, kMax> op;
  auto same = [](C a, C b) { return a == b || (a != a && b != b); };

  struct Best {
    C value;
    int64_t index;  // -1: an empty slice
  };
  // The best of elements [b, e) of the slice at p: the extremum (a vectorised pass), then
  // the first position holding it.
  auto best_of = [&](const T* p, int64_t b, int64_t e) {
    if (b >= e) return Best{op.init(), -1};
    const C m = reduce_row(op, p + b * rs, e - b, rs, 0.0);
    int64_t i = b;
    while (!same(static_cast<C>(p[i * rs]), m)) ++i;
    return Best{m, i};
  };
  const int max_threads = x.numel() < kParallelThreshold ? 1 : omp_get_max_threads();

  if (!plan.columns) {
    auto run_outputs = [&](int64_t b, int64_t e) {
      walk_rows(plan.kept, b, e, [&](int64_t xo, int64_t oo, int64_t len, int64_t xs, int64_t os) {
        for (int64_t k = 0; k < len; ++k) {
          const Best r = best_of(xp + xo + k * xs, 0, n);
          vo[oo + k * os] = T(r.value);
          io[oo + k * os] = r.index;
        }
      });
    };
    const int64_t n_out = plan.kept.numel();
    if (max_threads == 1) {
      run_outputs(0, n_out);
    } else if (n_out >= max_threads) {
#pragma omp parallel num_threads(max_threads)
      {
        const int t = omp_get_thread_num(), T_ = omp_get_num_threads();
        run_outputs(n_out * t / T_, n_out * (t + 1) / T_);
      }
    } else {
      // Few long slices: threads take consecutive parts; the earliest best part wins ties.
      std::vector<Best> part(static_cast<size_t>(max_threads));
      walk_rows(plan.kept, 0, n_out, [&](int64_t xo, int64_t oo, int64_t len, int64_t xs, int64_t os) {
        for (int64_t k = 0; k < len; ++k) {
          int team = 1;
#pragma omp parallel num_threads(max_threads)
          {
            const int t = omp_get_thread_num(), T_ = omp_get_num_threads();
            part[static_cast<size_t>(t)] = best_of(xp + xo + k * xs, n * t / T_, n * (t + 1) / T_);
#pragma omp single
            team = T_;
          }
          Best r = part[0];
          for (int t = 1; t < team; ++t) {
            const Best& c = part[static_cast<size_t>(t)];
            if (c.index >= 0 && (r.index < 0 || beats<kMax>(c.value, r.value))) r = c;
          }
          vo[oo + k * os] = T(r.value);
          io[oo + k * os] = r.index;
        }
      });
    }
    return;
  }

  // Columns: lanes of outputs advance together through the rows of the reduced dim.
  const int64_t ls = plan.lane_x_stride, los = plan.lane_out_stride;
  const int64_t blocks = (plan.lanes + kLaneBlock - 1) / kLaneBlock;
  const int64_t n_items = plan.kept.numel() * blocks;
  auto run_items = [&](int64_t b, int64_t e) {
    std::array<C, kLaneBlock> best;
    std::array<int64_t, kLaneBlock> index;
    for (int64_t item = b; item < e; ++item) {
      const int64_t first = item % blocks * kLaneBlock, lanes = std::min(kLaneBlock, plan.lanes - first);
      walk_rows(plan.kept, item / blocks, item / blocks + 1, [&](int64_t xo, int64_t oo, int64_t, int64_t, int64_t) {
        const T* p = xp + xo + first * ls;
        for (int64_t j = 0; j < lanes; ++j) {
          best[j] = static_cast<C>(p[j * ls]);
          index[j] = 0;
        }
        for (int64_t r = 1; r < n; ++r) {
          const T* row = p + r * rs;
          for (int64_t j = 0; j < lanes; ++j) {
            const C v = static_cast<C>(row[j * ls]);
            const bool take = beats<kMax>(v, best[j]);
            best[j] = take ? v : best[j];
            index[j] = take ? r : index[j];
          }
        }
        for (int64_t j = 0; j < lanes; ++j) {
          vo[oo + (first + j) * los] = T(best[j]);
          io[oo + (first + j) * los] = index[j];
        }
      });
    }
  };
  if (max_threads == 1 || n_items == 1) {
    run_items(0, n_items);
  } else {
#pragma omp parallel num_threads(max_threads)
    {
      const int t = omp_get_thread_num(), T_ = omp_get_num_threads();
      run_items(n_items * t / T_, n_items * (t + 1) / T_);
    }
  }
}

}  // namespace

void CpuBackend::reduce(ReduceOp op, const Tensor& x, uint32_t dims, const Tensor& out) {
  with_contiguous(
      out, [&](const Tensor& o) { visit_dtype(x.dtype(), [&]<class T>() { reduce_typed<T>(op, x, dims, o); }); });
}

void CpuBackend::var(const Tensor& x, uint32_t dims, int64_t correction, const Tensor& out) {
  with_contiguous(out, [&](const Tensor& o) {
    visit_floating(x.dtype(), "var", [&]<class T>() {
      // Two passes in f64: the mean, then the squared deviations from it.
      const ReducePlan plan = plan_reduction(x, dims, o.strides());
      const T* xp = static_cast<const T*>(x.raw_data());
      T* op = output<T>(o, "var");
      const int64_t n = reduced_count(x, dims), n_out = o.numel();
      std::vector<double> mean(static_cast<size_t>(n_out));
      run_reduce(plan, xp, x.numel(), n_out, SumOp<T>{}, nullptr,
                 [&mean, n](int64_t i, double s) { mean[static_cast<size_t>(i)] = s / static_cast<double>(n); });
      // As in PyTorch, n <= correction divides by 0 (NaN or inf).
      const double divisor = static_cast<double>(std::max<int64_t>(0, n - correction));
      run_reduce(plan, xp, x.numel(), n_out, SquaredDeviationOp<T>{}, mean.data(),
                 [op, divisor](int64_t i, double m2) { op[i] = narrow<T>(m2 / divisor); });
    });
  });
}

void CpuBackend::arg_reduce(ArgReduceOp op, const Tensor& x, int dim, const Tensor& values, const Tensor& indices) {
  with_contiguous(values, [&](const Tensor& v) {
    with_contiguous(indices, [&](const Tensor& i) {
      visit_dtype(x.dtype(), [&]<class T>() {
        if (op == ArgReduceOp::max)
          arg_reduce_typed<T, true>(x, dim, v, i);
        else
          arg_reduce_typed<T, false>(x, dim, v, i);
      });
    });
  });
}

}  // namespace subtb::cpu
