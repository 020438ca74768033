// Softmax and log-softmax along one dim, and their backward, as row kernels: each row is
// brought into a contiguous buffer of the compute type when it is not one already
// (16-bit floats, or a dim that is not the innermost), processed by a vectorised row
// function, and written back.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/rows.h"
#include "kernels/cpu/softmax_math.h"

namespace subtb::cpu {

namespace {

// y = exp(x - lse). The chunks' exp terms are written during the one read pass, each
// against the max seen so far (chunk_max holds it per chunk); the second pass over y
// scales every chunk by exp(chunk max - row max) / sum. An all -inf row gives zeros.
template <class C>
SUBTB_MULTIVERSION void softmax_row(const C* x, int64_t n, C* y, C* chunk_max) {
  OnlineLse<C> acc;
  for (int64_t b = 0, k = 0; b < n; b += kSoftmaxChunk, ++k) {
    acc.add(x + b, std::min(kSoftmaxChunk, n - b), y + b);
    chunk_max[k] = acc.max;
  }
  if (acc.max == kNegInf<C>) return;  // y already holds zeros (NaN for NaN)
  const C inv_sum = C(1) / acc.sum;
  for (int64_t b = 0, k = 0; b < n; b += kSoftmaxChunk, ++k) {
    const C scale = std::exp(chunk_max[k] - acc.max) * inv_sum;
    for (int64_t j = b, e = std::min(n, b + kSoftmaxChunk); j < e; ++j) y[j] *= scale;
  }
}

// y = x - lse; an all -inf row gives -inf everywhere (not -inf - -inf = NaN).
template <class C>
SUBTB_MULTIVERSION void log_softmax_row(const C* x, int64_t n, C* y) {
  const C lse = row_logsumexp(x, n);
  if (lse == kNegInf<C>) {
    std::fill(y, y + n, kNegInf<C>);
    return;
  }
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] - lse;
}

// grad_x = y * (g - sum(g * y)).
template <class C>
SUBTB_MULTIVERSION void softmax_backward_row(const C* y, const C* g, int64_t n, C* gx) {
  constexpr int64_t W = vec::kLanes<C>;
  vec::Vec<C> acc{};
  int64_t i = 0;
  for (; i + W <= n; i += W) acc += vec::load(g + i) * vec::load(y + i);
  C dot = vec::reduce_add(acc);
  for (; i < n; ++i) dot += g[i] * y[i];
  for (int64_t j = 0; j < n; ++j) gx[j] = y[j] * (g[j] - dot);
}

// grad_x = g - exp(y) * sum(g). An all -inf row (the constant output of an all -inf
// input) passes no gradient.
template <class C>
SUBTB_MULTIVERSION void log_softmax_backward_row(const C* y, const C* g, int64_t n, C* gx) {
  if (vec::row_max(y, n) == kNegInf<C>) {
    std::fill(gx, gx + n, C(0));
    return;
  }
  constexpr int64_t W = vec::kLanes<C>;
  const vec::Vec<C> s = vec::splat(vec::row_sum(g, n));
  auto grad = [s](vec::Vec<C> yv, vec::Vec<C> gv) __attribute__((always_inline)) { return gv - vec::exp(yv) * s; };
  int64_t i = 0;
  for (; i + W <= n; i += W) vec::store(gx + i, grad(vec::load(y + i), vec::load(g + i)));
  if (i < n)
    vec::store_partial(gx + i, grad(vec::load_partial(y + i, n - i, C(0)), vec::load_partial(g + i, n - i, C(0))),
                       n - i);
}

}  // namespace

void CpuBackend::softmax(const Tensor& x, int dim, bool log, const Tensor& out) {
  visit_floating(x.dtype(), log ? "log_softmax" : "softmax", [&]<class T>() {
    using C = compute_t<T>;
    const int64_t n = x.shape()[dim];
    const int64_t sx = x.strides()[dim], so = out.strides()[dim];
    const T* xb = static_cast<const T*>(x.raw_data());
    T* ob = static_cast<T*>(out.raw_data());
    const int64_t chunks = (n + kSoftmaxChunk - 1) / kSoftmaxChunk;
    for_each_row_along<2>(x.shape(), dim, {&x.strides(), &out.strides()}, [&] {
      return [&, in = row_buffer<C>(n, !is_direct_row<C, T>(sx)), res = row_buffer<C>(n, !is_direct_row<C, T>(so)),
              chunk_max = row_buffer<C>(chunks, !log)](int64_t, const std::array<int64_t, 2>& off) {
        const C* row = read_row<C>(xb + off[0], sx, n, in.get());
        C* y = row_target<C>(ob + off[1], so, res.get());
        if (log) {
          log_softmax_row(row, n, y);
        } else {
          softmax_row(row, n, y, chunk_max.get());
        }
        write_row(y, ob + off[1], so, n);
      };
    });
  });
}

void CpuBackend::softmax_backward(const Tensor& y, const Tensor& grad_y, int dim, bool log, const Tensor& grad_x) {
  visit_floating(y.dtype(), log ? "log_softmax_backward" : "softmax_backward", [&]<class T>() {
    using C = compute_t<T>;
    const int64_t n = y.shape()[dim];
    const int64_t sy = y.strides()[dim], sg = grad_y.strides()[dim], sx = grad_x.strides()[dim];
    const T* yb = static_cast<const T*>(y.raw_data());
    const T* gb = static_cast<const T*>(grad_y.raw_data());
    T* xb = static_cast<T*>(grad_x.raw_data());
    for_each_row_along<3>(y.shape(), dim, {&y.strides(), &grad_y.strides(), &grad_x.strides()}, [&] {
      return [&, yin = row_buffer<C>(n, !is_direct_row<C, T>(sy)), gin = row_buffer<C>(n, !is_direct_row<C, T>(sg)),
              res = row_buffer<C>(n, !is_direct_row<C, T>(sx))](int64_t, const std::array<int64_t, 3>& off) {
        const C* yr = read_row<C>(yb + off[0], sy, n, yin.get());
        const C* gr = read_row<C>(gb + off[1], sg, n, gin.get());
        C* gx = row_target<C>(xb + off[2], sx, res.get());
        if (log) {
          log_softmax_backward_row(yr, gr, n, gx);
        } else {
          softmax_backward_row(yr, gr, n, gx);
        }
        write_row(gx, xb + off[2], sx, n);
      };
    });
  });
}

}  // namespace subtb::cpu
