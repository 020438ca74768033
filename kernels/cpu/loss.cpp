// Softmax cross-entropy and NLL loss over rows of [N, C]. Cross-entropy never
// materialises log_softmax: forward reads each row once (online log-sum-exp) and keeps
// only the row's lse; backward writes softmax - q in one pass from the logits and lse.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/rows.h"
#include "kernels/cpu/softmax_math.h"

namespace subtb::cpu {

namespace {

// -log(exp(v) / exp(lse)) = lse - v, exactly +inf when v is -inf (even when lse is too,
// for a row whose logits are all -inf).
template <class C>
C neg_log_prob(C lse, C v) {
  return v == kNegInf<C> ? std::numeric_limits<C>::infinity() : lse - v;
}

// Loss of one row with target t; writes the row's log-sum-exp to *lse_out. With label
// smoothing e the target distribution is q = (1 - e) onehot(t) + e / n, so the loss is
// (1 - e) (lse - x[t]) + e (lse - mean(x)).
template <class C>
SUBTB_MULTIVERSION C cross_entropy_row(const C* x, int64_t n, int64_t t, C smoothing, C* lse_out) {
  OnlineLse<C> acc;
  C sum_x = 0;
  for (int64_t b = 0; b < n; b += kSoftmaxChunk) {
    const int64_t len = std::min(kSoftmaxChunk, n - b);
    acc.add(x + b, len, nullptr);
    if (smoothing > 0) sum_x += vec::row_sum(x + b, len);
  }
  const C lse = acc.lse();
  *lse_out = lse;
  C loss = 0;
  if (smoothing < 1) loss += (C(1) - smoothing) * neg_log_prob(lse, x[t]);
  if (smoothing > 0) loss += smoothing * neg_log_prob(lse, sum_x / static_cast<C>(n));
  return loss;
}

// gx = g * (softmax(x) - q): g * exp(x - lse) - g * e / n everywhere, less g * (1 - e) at
// the target. An all -inf row (lse = -inf) has softmax 0.
template <class C>
SUBTB_MULTIVERSION void cross_entropy_backward_row(const C* x, int64_t n, int64_t t, C lse, C g, C smoothing, C* gx) {
  constexpr int64_t W = vec::kLanes<C>;
  const C uniform = g * smoothing / static_cast<C>(n);
  if (lse == kNegInf<C>) {
    std::fill(gx, gx + n, -uniform);
  } else {
    const vec::Vec<C> lv = vec::splat(lse), gv = vec::splat(g), uv = vec::splat(uniform);
    auto grad = [=](vec::Vec<C> xv) __attribute__((always_inline)) { return gv * vec::exp(xv - lv) - uv; };
    int64_t i = 0;
    for (; i + W <= n; i += W) vec::store(gx + i, grad(vec::load(x + i)));
    if (i < n) vec::store_partial(gx + i, grad(vec::load_partial(x + i, n - i, lse)), n - i);
  }
  gx[t] -= g * (C(1) - smoothing);
}

// One thread's running sum of losses, on its own cache line so that the threads' updates
// do not contend.
struct alignas(64) PartialSum {
  double value = 0;
};

// The sum of the threads' partial losses, in thread order.
double total(const std::vector<PartialSum>& partials) {
  double s = 0;
  for (const PartialSum& p : partials) s += p.value;
  return s;
}

}  // namespace

void CpuBackend::cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyParams& params,
                               const Tensor& loss, const Tensor& lse) {
  visit_floating(logits.dtype(), "cross_entropy", [&]<class T>() {
    using C = compute_t<T>;
    const int64_t n = logits.shape()[1], sc = logits.strides()[1];
    const T* xb = static_cast<const T*>(logits.raw_data());
    const int64_t* tb = target.data<int64_t>();
    const int64_t st = target.strides()[0];
    C* lse_b = lse.data<C>();
    T* loss_b = static_cast<T*>(loss.raw_data());
    const bool reduced = loss.dim() == 0;
    const int64_t sl = reduced ? 0 : loss.strides()[0];
    const C smoothing = static_cast<C>(params.label_smoothing);
    std::vector<PartialSum> partials(static_cast<size_t>(omp_get_max_threads()));
    for_each_row_along<1>(logits.shape(), 1, {&logits.strides()}, [&] {
      double* acc = &partials[static_cast<size_t>(omp_get_thread_num())].value;
      return [&, acc, in = row_buffer<C>(n, !is_direct_row<C, T>(sc))](int64_t r, const std::array<int64_t, 1>& off) {
        const int64_t t = tb[r * st];
        C l = 0;
        if (t == params.ignore_index) {
          lse_b[r] = 0;
        } else {
          l = cross_entropy_row(read_row<C>(xb + off[0], sc, n, in.get()), n, t, smoothing, lse_b + r);
        }
        if (reduced) {
          *acc += static_cast<double>(l);
        } else {
          loss_b[r * sl] = T(l);
        }
      };
    });
    if (reduced) *loss_b = T(static_cast<C>(params.scale * total(partials)));
  });
}

void CpuBackend::cross_entropy_backward(const Tensor& logits, const Tensor& target, const Tensor& lse,
                                        const Tensor& grad_loss, const CrossEntropyParams& params,
                                        const Tensor& grad_logits) {
  visit_floating(logits.dtype(), "cross_entropy_backward", [&]<class T>() {
    using C = compute_t<T>;
    const int64_t n = logits.shape()[1], sc = logits.strides()[1], sgx = grad_logits.strides()[1];
    const T* xb = static_cast<const T*>(logits.raw_data());
    T* gxb = static_cast<T*>(grad_logits.raw_data());
    const int64_t* tb = target.data<int64_t>();
    const int64_t st = target.strides()[0];
    const C* lse_b = lse.data<C>();
    const T* gb = static_cast<const T*>(grad_loss.raw_data());
    const int64_t sg = grad_loss.dim() == 0 ? 0 : grad_loss.strides()[0];
    const C smoothing = static_cast<C>(params.label_smoothing), scale = static_cast<C>(params.scale);
    for_each_row_along<2>(logits.shape(), 1, {&logits.strides(), &grad_logits.strides()}, [&] {
      return [&, in = row_buffer<C>(n, !is_direct_row<C, T>(sc)), res = row_buffer<C>(n, !is_direct_row<C, T>(sgx))](
                 int64_t r, const std::array<int64_t, 2>& off) {
        const int64_t t = tb[r * st];
        C* gx = row_target<C>(gxb + off[1], sgx, res.get());
        if (t == params.ignore_index) {
          std::fill(gx, gx + n, C(0));
        } else {
          const C g = scale * static_cast<C>(gb[r * sg]);
          cross_entropy_backward_row(read_row<C>(xb + off[0], sc, n, in.get()), n, t, lse_b[r], g, smoothing, gx);
        }
        write_row(gx, gxb + off[1], sgx, n);
      };
    });
  });
}

void CpuBackend::nll_loss(const Tensor& log_probs, const Tensor& target, const CrossEntropyParams& params,
                          const Tensor& loss) {
  visit_floating(log_probs.dtype(), "nll_loss", [&]<class T>() {
    const int64_t rows = log_probs.shape()[0];
    const int64_t s0 = log_probs.strides()[0], s1 = log_probs.strides()[1];
    const T* pb = static_cast<const T*>(log_probs.raw_data());
    const int64_t* tb = target.data<int64_t>();
    const int64_t st = target.strides()[0];
    T* loss_b = static_cast<T*>(loss.raw_data());
    const bool reduced = loss.dim() == 0;
    double sum = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t t = tb[r * st];
      const double l = t == params.ignore_index ? 0.0 : -static_cast<double>(pb[r * s0 + t * s1]);
      if (reduced) {
        sum += l;
      } else {
        loss_b[r * loss.strides()[0]] = T(static_cast<compute_t<T>>(l));
      }
    }
    if (reduced) *loss_b = T(static_cast<compute_t<T>>(params.scale * sum));
  });
}

void CpuBackend::nll_loss_backward(const Tensor& grad_loss, const Tensor& target, const CrossEntropyParams& params,
                                   const Tensor& grad_log_probs) {
  fill(grad_log_probs, 0.0);
  visit_floating(grad_log_probs.dtype(), "nll_loss_backward", [&]<class T>() {
    using C = compute_t<T>;
    const int64_t rows = grad_log_probs.shape()[0];
    const int64_t s0 = grad_log_probs.strides()[0], s1 = grad_log_probs.strides()[1];
    T* gxb = static_cast<T*>(grad_log_probs.raw_data());
    const int64_t* tb = target.data<int64_t>();
    const int64_t st = target.strides()[0];
    const T* gb = static_cast<const T*>(grad_loss.raw_data());
    const int64_t sg = grad_loss.dim() == 0 ? 0 : grad_loss.strides()[0];
    const C scale = static_cast<C>(params.scale);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t t = tb[r * st];
      if (t != params.ignore_index) gxb[r * s0 + t * s1] = T(-scale * static_cast<C>(gb[r * sg]));
    }
  });
}

}  // namespace subtb::cpu
