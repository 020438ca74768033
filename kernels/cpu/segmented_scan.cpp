// Segmented scans on the CPU: one row per iteration, rows spread over threads. Rows are
// short (2 to 200 steps) and many, so the parallelism is across rows, never within one.
#include <cmath>
#include <limits>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/loops.h"

namespace subtb::cpu {

namespace {

// log(exp(a) + exp(b)), exact at -inf: the sum of two -inf is -inf, not NaN.
template <class C>
C log_add_exp(C a, C b) {
  const C m = std::max(a, b);
  if (m == -std::numeric_limits<C>::infinity()) return m;
  return m + std::log1p(std::exp(-std::abs(a - b)));
}

}  // namespace

void CpuBackend::segmented_scan(ScanOp op, const Tensor& x, const Tensor& lengths, const Tensor& out) {
  const int64_t B = x.shape()[0], L = x.shape()[1];
  const int64_t* len = lengths.data<int64_t>();
  visit_floating(x.dtype(), "segmented_scan", [&]<class T>() {
    using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const C identity = op == ScanOp::cumsum ? C(0) : -std::numeric_limits<C>::infinity();
#pragma omp parallel for if (B * L >= kParallelThreshold) schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      const T* xr = px + b * L;
      T* orow = po + b * L;
      C acc = identity;
      for (int64_t t = 0; t < L; ++t) {
        if (t < len[b]) {
          const C v = static_cast<C>(xr[t]);
          acc = op == ScanOp::cumsum ? acc + v : log_add_exp(acc, v);
          orow[t] = T(acc);
        } else {
          orow[t] = T(identity);
        }
      }
    }
  });
}

void CpuBackend::segmented_scan_backward(ScanOp op, const Tensor& x, const Tensor& out, const Tensor& grad_out,
                                         const Tensor& lengths, const Tensor& grad_x) {
  const int64_t B = x.shape()[0], L = x.shape()[1];
  const int64_t* len = lengths.data<int64_t>();
  visit_floating(x.dtype(), "segmented_scan_backward", [&]<class T>() {
    using C = std::conditional_t<std::is_same_v<T, double>, double, float>;
    const T* px = x.data<T>();
    const T* po = out.data<T>();
    const T* pg = grad_out.data<T>();
    T* pgx = grad_x.data<T>();
    constexpr C kNegInf = -std::numeric_limits<C>::infinity();
#pragma omp parallel for if (B * L >= kParallelThreshold) schedule(static)
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = len[b];
      const T* xr = px + b * L;
      const T* orow = po + b * L;
      const T* g = pg + b * L;
      T* gx = pgx + b * L;
      for (int64_t t = n; t < L; ++t) gx[t] = T(C(0));
      if (op == ScanOp::cumsum) {
        C acc = 0;  // reverse cumsum of the output gradient
        for (int64_t t = n - 1; t >= 0; --t) {
          acc += static_cast<C>(g[t]);
          gx[t] = T(acc);
        }
        continue;
      }
      // dx[k] = sum_{t >= k} g[t] exp(x[k] - out[t]) = exp(x[k] - out[k]) Q[k] with
      // Q[k] = g[k] + exp(out[k] - out[k+1]) Q[k+1]. The scan is non-decreasing along the
      // row, so every exponent is <= 0: nothing overflows. Where out[k] = -inf the prefix
      // holds only -inf entries, which get exactly zero gradient.
      C q = 0;
      for (int64_t k = n - 1; k >= 0; --k) {
        const C ok = static_cast<C>(orow[k]);
        if (k + 1 < n) {
          const C next = static_cast<C>(orow[k + 1]);
          q *= ok == kNegInf ? C(0) : std::exp(ok - next);
        }
        q += static_cast<C>(g[k]);
        const C xk = static_cast<C>(xr[k]);
        gx[k] = T(xk == kNegInf ? C(0) : std::exp(xk - ok) * q);
      }
    }
  });
}

}  // namespace subtb::cpu
