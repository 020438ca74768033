// Scan CPU kernels: inclusive cumsum and logcumsumexp along one dim, forwards or in
// reverse. Running values are kept in f64 (cumsum of integers in wrapping 64 bits).
// When the scanned dim is x's innermost, slices are scanned along their own memory, a few
// at a time; otherwise a block of neighbouring slices advances together, one contiguous
// row at a time.
#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/reduce_engine.h"

namespace subtb::cpu {

namespace {

template <class T>
inline constexpr bool kFloating = std::is_floating_point_v<compute_t<T>>;

template <class T>
struct CumsumOp {
  using Acc = std::conditional_t<kFloating<T>, double, uint64_t>;
  using Out = std::conditional_t<kFloating<T>, T, int64_t>;
  Acc init() const { return 0; }
  Acc step(Acc a, T v) const {
    if constexpr (kFloating<T>)
      return a + static_cast<double>(static_cast<compute_t<T>>(v));
    else
      return a + static_cast<uint64_t>(static_cast<int64_t>(v));
  }
  Out store(Acc a) const {
    if constexpr (kFloating<T>)
      return Out(static_cast<compute_t<T>>(a));
    else
      return static_cast<int64_t>(a);
  }
};

// The running log-sum-exp is kept as (max so far, sum of exp(x - max)): a step costs one
// exp and an output one log. It is exact at the infinities: an all -inf prefix stays
// -inf (never -inf - -inf = NaN), +inf absorbs everything finite, and NaN propagates.
struct LogSumExpState {
  double max, scale;
};

template <class T>
struct LogcumsumexpOp {
  using Acc = LogSumExpState;
  using Out = T;
  Acc init() const { return {-std::numeric_limits<double>::infinity(), 0.0}; }
  Acc step(Acc a, T v) const {
    const double x = static_cast<double>(static_cast<compute_t<T>>(v));
    if (x > a.max) return {x, a.scale * std::exp(a.max - x) + 1.0};
    if (x == a.max) return {a.max, a.scale + 1.0};  // also when both are infinite
    return {a.max, a.scale + std::exp(x - a.max)};  // x below the max, or NaN
  }
  Out store(Acc a) const { return Out(static_cast<compute_t<T>>(a.max + std::log(a.scale))); }
};

template <class T, class Op>
void scan_typed(const Op& op, const Tensor& x, int dim, bool reverse, const Tensor& out) {
  using Out = typename Op::Out;
  using Acc = typename Op::Acc;
  SUBTB_CHECK(out.dtype() == dtype_of<Out>(), "scan: output ", describe(out), " should be ", dtype_of<Out>());
  const bool scalar = x.dim() == 0;
  const ReducePlan plan = plan_reduction(x, scalar ? 0u : 1u << dim, out.strides());
  const int64_t n = scalar ? 1 : x.shape()[dim];
  if (x.numel() == 0) return;
  const int64_t xs = scalar ? 0 : x.strides()[dim], os = scalar ? 0 : out.strides()[dim];
  // Row k of the scan in visiting order.
  const int64_t first = reverse ? n - 1 : 0, dir = reverse ? -1 : 1;
  const T* xp = static_cast<const T*>(x.raw_data());
  Out* op_ = static_cast<Out*>(out.raw_data());
  const bool parallel = x.numel() >= kParallelThreshold && omp_get_max_threads() > 1;

  if (!plan.columns) {
    auto run = [&](int64_t b, int64_t e) {
      walk_rows(plan.kept, b, e, [&](int64_t xo, int64_t oo, int64_t len, int64_t kxs, int64_t kos) {
        // A scan is one long dependency chain; kChains slices advance together so that
        // their chains overlap in the pipeline.
        constexpr int kChains = 4;
        for (int64_t k = 0; k < len; k += kChains) {
          const int chains = static_cast<int>(std::min<int64_t>(kChains, len - k));
          std::array<const T*, kChains> p{};
          std::array<Out*, kChains> q{};
          std::array<Acc, kChains> acc;
          for (int c = 0; c < chains; ++c) {
            p[c] = xp + xo + (k + c) * kxs + first * xs;
            q[c] = op_ + oo + (k + c) * kos + first * os;
            acc[c] = op.init();
          }
          for (int64_t i = 0; i < n; ++i) {
            for (int c = 0; c < chains; ++c) {
              acc[c] = op.step(acc[c], p[c][i * dir * xs]);
              q[c][i * dir * os] = op.store(acc[c]);
            }
          }
        }
      });
    };
    const int64_t n_slices = plan.kept.numel();
    if (!parallel || n_slices == 1) return run(0, n_slices);
#pragma omp parallel
    {
      const int t = omp_get_thread_num(), T_ = omp_get_num_threads();
      run(n_slices * t / T_, n_slices * (t + 1) / T_);
    }
    return;
  }

  const int64_t ls = plan.lane_x_stride, los = plan.lane_out_stride;
  const int64_t blocks = (plan.lanes + kLaneBlock - 1) / kLaneBlock;
  const int64_t n_items = plan.kept.numel() * blocks;
  auto run_items = [&](int64_t b, int64_t e) {
    std::array<Acc, kLaneBlock> acc;
    for (int64_t item = b; item < e; ++item) {
      const int64_t lane0 = item % blocks * kLaneBlock, lanes = std::min(kLaneBlock, plan.lanes - lane0);
      walk_rows(plan.kept, item / blocks, item / blocks + 1, [&](int64_t xo, int64_t oo, int64_t, int64_t, int64_t) {
        std::fill(acc.begin(), acc.begin() + lanes, op.init());
        for (int64_t i = 0; i < n; ++i) {
          const int64_t r = first + i * dir;
          const T* p = xp + xo + r * xs + lane0 * ls;
          Out* q = op_ + oo + r * os + lane0 * los;
          if (ls == 1 && los == 1) {
            for (int64_t j = 0; j < lanes; ++j) {
              acc[j] = op.step(acc[j], p[j]);
              q[j] = op.store(acc[j]);
            }
          } else {
            for (int64_t j = 0; j < lanes; ++j) {
              acc[j] = op.step(acc[j], p[j * ls]);
              q[j * los] = op.store(acc[j]);
            }
          }
        }
      });
    }
  };
  if (!parallel || n_items == 1) return run_items(0, n_items);
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), T_ = omp_get_num_threads();
    run_items(n_items * t / T_, n_items * (t + 1) / T_);
  }
}

}  // namespace

void CpuBackend::scan(ScanOp op, const Tensor& x, int dim, bool reverse, const Tensor& out) {
  auto kernel = [&](const Tensor& o) {
    visit_dtype(x.dtype(), [&]<class T>() {
      if (op == ScanOp::cumsum) return scan_typed<T>(CumsumOp<T>{}, x, dim, reverse, o);
      if constexpr (kFloating<T>) return scan_typed<T>(LogcumsumexpOp<T>{}, x, dim, reverse, o);
      SUBTB_THROW("logcumsumexp: expected a floating tensor, got ", describe(x));
    });
  };
  if (out.is_contiguous()) return kernel(out);
  Tensor tmp = make_tensor(out.shape(), out.dtype(), out.device());
  kernel(tmp);
  copy(tmp, out);
}

}  // namespace subtb::cpu
