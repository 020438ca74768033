// layer_norm and rms_norm over the last dim, and their backward, as row kernels: a row's
// statistics in one read from memory (chunk by chunk while each sits in L1), then one
// pass that writes the output. Backward is one pass for the row sums (accumulating
// grad_weight / grad_bias into per-thread partial sums as it goes) and one that writes
// grad_x; the threads' partial sums are added in a fixed order, so results are
// deterministic for a given thread count.
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/rows.h"
#include "kernels/cpu/vec.h"

namespace subtb::cpu {

namespace {

// sum((x - c)^2) over x[0, n).
template <class C>
[[gnu::always_inline]] inline C sum_sq(const C* x, int64_t n, C c) {
  constexpr int64_t W = vec::kLanes<C>;
  const vec::Vec<C> cv = vec::splat(c);
  vec::Vec<C> s0{}, s1{};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const vec::Vec<C> d0 = vec::load(x + i) - cv, d1 = vec::load(x + i + W) - cv;
    s0 += d0 * d0;
    s1 += d1 * d1;
  }
  for (; i < n; i += W) {
    const vec::Vec<C> d = vec::load_partial(x + i, std::min(W, n - i), c) - cv;
    s0 += d * d;
  }
  return vec::reduce_add(s0 + s1);
}

// Rows are reduced in chunks that stay in L1 while they are read twice (mean, then the
// centred second moment): two passes per chunk are as cheap as one and as accurate as
// Welford's, and a long row is still read from memory once for its statistics.
inline constexpr int64_t kNormChunk = 4096;

// Mean and sum of squared deviations of a row, merging the chunks' (Chan et al.).
template <class C>
[[gnu::always_inline]] inline void row_moments(const C* x, int64_t n, C& mean, C& m2) {
  mean = 0;
  m2 = 0;
  for (int64_t b = 0; b < n; b += kNormChunk) {
    const int64_t len = std::min(kNormChunk, n - b);
    const C chunk_mean = vec::row_sum(x + b, len) / static_cast<C>(len);
    const C chunk_m2 = sum_sq(x + b, len, chunk_mean);
    const C delta = chunk_mean - mean, total = static_cast<C>(b + len);
    mean += delta * (static_cast<C>(len) / total);
    m2 += chunk_m2 + delta * delta * (static_cast<C>(b) * static_cast<C>(len) / total);
  }
}

// y = (x - mean) * rstd * w + b; w and b are full rows (ones / zeros when absent).
template <class C>
SUBTB_MULTIVERSION void layer_norm_row(const C* x, int64_t n, const C* w, const C* b, C eps, C* y, C* mean, C* rstd) {
  C m, m2;
  row_moments(x, n, m, m2);
  const C r = C(1) / std::sqrt(m2 / static_cast<C>(n) + eps);
  for (int64_t j = 0; j < n; ++j) y[j] = (x[j] - m) * r * w[j] + b[j];
  *mean = m;
  *rstd = r;
}

template <class C>
SUBTB_MULTIVERSION void rms_norm_row(const C* x, int64_t n, const C* w, C eps, C* y, C* rstd) {
  const C r = C(1) / std::sqrt(sum_sq(x, n, C(0)) / static_cast<C>(n) + eps);
  for (int64_t j = 0; j < n; ++j) y[j] = x[j] * r * w[j];
  *rstd = r;
}

// With xhat = (x - mean) * rstd and gw = g * w:
//   grad_x = rstd * (gw - mean(gw) - xhat * mean(gw * xhat)),
//   grad_weight += g * xhat, grad_bias += g (into this thread's partial sums; either
//   may be null, and so may gx).
// rms_norm is the same with mean = 0 and without the mean(gw) term (centred = false).
template <class C, bool centred>
SUBTB_MULTIVERSION void norm_backward_row(const C* x, const C* g, const C* w, int64_t n, C mean, C rstd, C* gx,
                                          C* gw_acc, C* gb_acc) {
  constexpr int64_t W = vec::kLanes<C>;
  const vec::Vec<C> mv = vec::splat(mean), rv = vec::splat(rstd);
  vec::Vec<C> sum_gw{}, sum_gw_xhat{};
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const vec::Vec<C> gv = vec::load(g + i), xhat = (vec::load(x + i) - mv) * rv;
    const vec::Vec<C> gw = gv * vec::load(w + i);
    sum_gw += gw;
    sum_gw_xhat += gw * xhat;
    if (gw_acc) vec::store(gw_acc + i, vec::load(gw_acc + i) + gv * xhat);
    if (gb_acc) vec::store(gb_acc + i, vec::load(gb_acc + i) + gv);
  }
  C tail_gw = 0, tail_gw_xhat = 0;
  for (; i < n; ++i) {
    const C xhat = (x[i] - mean) * rstd, gw = g[i] * w[i];
    tail_gw += gw;
    tail_gw_xhat += gw * xhat;
    if (gw_acc) gw_acc[i] += g[i] * xhat;
    if (gb_acc) gb_acc[i] += g[i];
  }
  if (!gx) return;
  const C inv_n = C(1) / static_cast<C>(n);
  const C a = centred ? (vec::reduce_add(sum_gw) + tail_gw) * inv_n : C(0);
  const C b = (vec::reduce_add(sum_gw_xhat) + tail_gw_xhat) * inv_n;
  for (int64_t j = 0; j < n; ++j) gx[j] = rstd * (g[j] * w[j] - a - (x[j] - mean) * rstd * b);
}

// A [D] parameter as a contiguous C vector, or `fill` everywhere when it is undefined.
template <class C>
std::vector<C> param_row(const Tensor& p, int64_t n, C fill) {
  std::vector<C> out(static_cast<size_t>(n), fill);
  if (p.defined()) {
    visit_floating(p.dtype(), "norm", [&]<class T>() {
      const T* src = static_cast<const T*>(p.raw_data());
      for (int64_t j = 0; j < n; ++j) out[j] = static_cast<C>(src[j * p.strides()[0]]);
    });
  }
  return out;
}

// Adds the threads' partial sums (in thread order) into a [D] gradient.
template <class C, class T>
void write_partials(const std::vector<std::vector<C>>& partials, const Tensor& grad, int64_t n) {
  std::vector<C> total(static_cast<size_t>(n), C(0));
  for (const std::vector<C>& p : partials)
    if (!p.empty())
      for (int64_t j = 0; j < n; ++j) total[j] += p[j];
  write_row(total.data(), static_cast<T*>(grad.raw_data()), grad.strides()[0], n);
}

// The two norms' forward: rows of x into rows of out, with one mean (layer_norm only)
// and rstd per row.
template <class C, class T, bool centred>
void norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, C eps, const Tensor& out, C* mean,
                  C* rstd) {
  const int dim = x.dim() - 1;
  const int64_t n = x.shape()[dim];
  const std::vector<C> w = param_row<C>(weight, n, C(1));
  const std::vector<C> b = param_row<C>(bias, centred ? n : 0, C(0));
  const int64_t sx = x.strides()[dim], so = out.strides()[dim];
  const T* xb = static_cast<const T*>(x.raw_data());
  T* ob = static_cast<T*>(out.raw_data());
  for_each_row_along<2>(x.shape(), dim, {&x.strides(), &out.strides()}, [&] {
    return [&, in = row_buffer<C>(n, !is_direct_row<C, T>(sx)), res = row_buffer<C>(n, !is_direct_row<C, T>(so))](
               int64_t r, const std::array<int64_t, 2>& off) {
      const C* xr = read_row<C>(xb + off[0], sx, n, in.get());
      C* y = row_target<C>(ob + off[1], so, res.get());
      if constexpr (centred) {
        layer_norm_row(xr, n, w.data(), b.data(), eps, y, mean + r, rstd + r);
      } else {
        rms_norm_row(xr, n, w.data(), eps, y, rstd + r);
      }
      write_row(y, ob + off[1], so, n);
    };
  });
}

// The two norms' backward.
template <class C, class T, bool centred>
void norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const C* mean, const C* rstd,
                   const Tensor& grad_x, const Tensor& grad_weight, const Tensor& grad_bias) {
  const int dim = x.dim() - 1;
  const int64_t n = x.shape()[dim];
  const std::vector<C> w = param_row<C>(weight, n, C(1));
  const int64_t sx = x.strides()[dim], sg = grad_out.strides()[dim];
  const int64_t sgx = grad_x.defined() ? grad_x.strides()[dim] : 1;
  const T* xb = static_cast<const T*>(x.raw_data());
  const T* gb = static_cast<const T*>(grad_out.raw_data());
  T* gxb = grad_x.defined() ? static_cast<T*>(grad_x.raw_data()) : nullptr;
  const Strides& gx_strides = grad_x.defined() ? grad_x.strides() : x.strides();
  std::vector<std::vector<C>> gw_partials(static_cast<size_t>(omp_get_max_threads()));
  std::vector<std::vector<C>> gb_partials(gw_partials.size());

  for_each_row_along<3>(x.shape(), dim, {&x.strides(), &grad_out.strides(), &gx_strides}, [&] {
    const size_t t = static_cast<size_t>(omp_get_thread_num());
    if (grad_weight.defined()) gw_partials[t].assign(static_cast<size_t>(n), C(0));
    if (grad_bias.defined()) gb_partials[t].assign(static_cast<size_t>(n), C(0));
    C* gw_acc = grad_weight.defined() ? gw_partials[t].data() : nullptr;
    C* gb_acc = grad_bias.defined() ? gb_partials[t].data() : nullptr;
    return [&, gw_acc, gb_acc, xin = row_buffer<C>(n, !is_direct_row<C, T>(sx)),
            gin = row_buffer<C>(n, !is_direct_row<C, T>(sg)),
            res = row_buffer<C>(n, gxb && !is_direct_row<C, T>(sgx))](int64_t r, const std::array<int64_t, 3>& off) {
      const C* xr = read_row<C>(xb + off[0], sx, n, xin.get());
      const C* gr = read_row<C>(gb + off[1], sg, n, gin.get());
      C* gx = gxb ? row_target<C>(gxb + off[2], sgx, res.get()) : nullptr;
      norm_backward_row<C, centred>(xr, gr, w.data(), n, centred ? mean[r] : C(0), rstd[r], gx, gw_acc, gb_acc);
      if (gx) write_row(gx, gxb + off[2], sgx, n);
    };
  });
  if (grad_weight.defined()) write_partials<C, T>(gw_partials, grad_weight, n);
  if (grad_bias.defined()) write_partials<C, T>(gb_partials, grad_bias, n);
}

}  // namespace

void CpuBackend::layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& out,
                            const Tensor& mean, const Tensor& rstd) {
  visit_floating(x.dtype(), "layer_norm", [&]<class T>() {
    using C = compute_t<T>;
    norm_forward<C, T, true>(x, weight, bias, C(eps), out, mean.data<C>(), rstd.data<C>());
  });
}

void CpuBackend::layer_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                     const Tensor& rstd, const Tensor& grad_x, const Tensor& grad_weight,
                                     const Tensor& grad_bias) {
  visit_floating(x.dtype(), "layer_norm_backward", [&]<class T>() {
    using C = compute_t<T>;
    norm_backward<C, T, true>(grad_out, x, weight, mean.data<C>(), rstd.data<C>(), grad_x, grad_weight, grad_bias);
  });
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& weight, double eps, const Tensor& out, const Tensor& rstd) {
  visit_floating(x.dtype(), "rms_norm", [&]<class T>() {
    using C = compute_t<T>;
    norm_forward<C, T, false>(x, weight, Tensor(), C(eps), out, nullptr, rstd.data<C>());
  });
}

void CpuBackend::rms_norm_backward(const Tensor& grad_out, const Tensor& x, const Tensor& weight, const Tensor& rstd,
                                   const Tensor& grad_x, const Tensor& grad_weight) {
  visit_floating(x.dtype(), "rms_norm_backward", [&]<class T>() {
    using C = compute_t<T>;
    norm_backward<C, T, false>(grad_out, x, weight, nullptr, rstd.data<C>(), grad_x, grad_weight, Tensor());
  });
}

}  // namespace subtb::cpu
