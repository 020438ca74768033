// CPU conv2d: im2col + BLAS. Each image's receptive fields are unrolled into a column
// matrix cols [C*KH*KW, OH*OW], so that
//   forward:         out[n]   = W [O, CKK] @ cols [CKK, P] (+ bias)
//   backward input:  dcols    = W^T @ grad_out[n], folded back onto grad_x[n] (col2im)
//   backward weight: grad_W  += grad_out[n] @ cols^T
// OpenMP runs across the images with single-threaded gemms inside (OpenBLAS does not
// nest); a batch of one runs serially and leaves the threads to BLAS. bf16/f16 compute
// in f32 and round once at the end, as matmul does.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <vector>

#include "kernels/cpu/cpu_backend.h"

namespace subtb::cpu {

namespace {

// The extents of one convolution, read from x, weight and out shapes.
struct Geometry {
  int64_t batch, channels, height, width;  // x
  int64_t filters, kh, kw;                 // weight
  int64_t oh, ow;                          // out
  Conv2dParams p;

  Geometry(const Shape& x, const Shape& w, const Shape& out, const Conv2dParams& params)
      : batch(x[0]),
        channels(x[1]),
        height(x[2]),
        width(x[3]),
        filters(w[0]),
        kh(w[2]),
        kw(w[3]),
        oh(out[2]),
        ow(out[3]),
        p(params) {
    SUBTB_CHECK(patch() <= INT_MAX && pixels() <= INT_MAX && filters <= INT_MAX, "conv2d: x ", x, " and weight ", w,
                " give matrices beyond the BLAS index range");
  }
  int64_t patch() const { return channels * kh * kw; }  // rows of cols
  int64_t pixels() const { return oh * ow; }            // columns of cols
  int64_t image() const { return channels * height * width; }
};

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
          float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b,
              ldb, beta, c, ldc);
}
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b, int64_t ldb,
          double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0, a, lda, b,
              ldb, beta, c, ldc);
}

// One image's column matrix: cols[(c*KH + ki)*KW + kj, oy*OW + ox] =
// x[c, oy*sh - ph + ki*dh, ox*sw - pw + kj*dw], and 0 where that falls in the padding.
template <class T>
void im2col(const T* x, const Geometry& g, T* cols) {
  const int64_t sh = g.p.stride[0], sw = g.p.stride[1], ph = g.p.padding[0], pw = g.p.padding[1];
  const int64_t dh = g.p.dilation[0], dw = g.p.dilation[1];
  for (int64_t c = 0; c < g.channels; ++c) {
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        T* row = cols + ((c * g.kh + ki) * g.kw + kj) * g.pixels();
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          T* dst = row + oy * g.ow;
          const int64_t iy = oy * sh - ph + ki * dh;
          if (iy < 0 || iy >= g.height) {
            std::fill(dst, dst + g.ow, T(0));
            continue;
          }
          const T* src = x + (c * g.height + iy) * g.width;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t ix = ox * sw - pw + kj * dw;
            dst[ox] = ix >= 0 && ix < g.width ? src[ix] : T(0);
          }
        }
      }
    }
  }
}

// The adjoint of im2col: adds each column entry back onto the pixel it was read from.
// grad_x must be zeroed by the caller.
template <class T>
void col2im(const T* cols, const Geometry& g, T* grad_x) {
  const int64_t sh = g.p.stride[0], sw = g.p.stride[1], ph = g.p.padding[0], pw = g.p.padding[1];
  const int64_t dh = g.p.dilation[0], dw = g.p.dilation[1];
  for (int64_t c = 0; c < g.channels; ++c) {
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const T* row = cols + ((c * g.kh + ki) * g.kw + kj) * g.pixels();
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * sh - ph + ki * dh;
          if (iy < 0 || iy >= g.height) continue;
          const T* src = row + oy * g.ow;
          T* dst = grad_x + (c * g.height + iy) * g.width;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t ix = ox * sw - pw + kj * dw;
            if (ix >= 0 && ix < g.width) dst[ix] += src[ox];
          }
        }
      }
    }
  }
}

template <class T>
void forward(const Tensor& x, const Tensor& weight, const Tensor& bias, const Geometry& g, const Tensor& out) {
  const T* px = static_cast<const T*>(x.raw_data());
  const T* pw = static_cast<const T*>(weight.raw_data());
  const T* pb = bias.defined() ? static_cast<const T*>(bias.raw_data()) : nullptr;
  T* py = static_cast<T*>(out.raw_data());
  const int64_t k = g.patch(), p = g.pixels();
#pragma omp parallel if (g.batch > 1)
  {
    std::vector<T> cols(static_cast<size_t>(k * p));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      im2col(px + n * g.image(), g, cols.data());
      T* y = py + n * g.filters * p;
      gemm(false, false, g.filters, p, k, pw, k, cols.data(), p, T(0), y, p);
      if (pb == nullptr) continue;
      for (int64_t o = 0; o < g.filters; ++o) {
        for (int64_t i = 0; i < p; ++i) y[o * p + i] += pb[o];
      }
    }
  }
}

template <class T>
void backward_input(const Tensor& grad_out, const Tensor& weight, const Geometry& g, const Tensor& grad_x) {
  const T* pg = static_cast<const T*>(grad_out.raw_data());
  const T* pw = static_cast<const T*>(weight.raw_data());
  T* pgx = static_cast<T*>(grad_x.raw_data());
  const int64_t k = g.patch(), p = g.pixels();
#pragma omp parallel if (g.batch > 1)
  {
    std::vector<T> cols(static_cast<size_t>(k * p));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      gemm(true, false, k, p, g.filters, pw, k, pg + n * g.filters * p, p, T(0), cols.data(), p);
      T* gx = pgx + n * g.image();
      std::fill(gx, gx + g.image(), T(0));
      col2im(cols.data(), g, gx);
    }
  }
}

// Each thread accumulates the weight gradient of its images in its own buffer; the
// buffers are then added in thread order, so a fixed thread count gives the same bits
// on every run.
template <class T>
void backward_weight(const Tensor& grad_out, const Tensor& x, const Geometry& g, const Tensor& grad_weight) {
  const T* pg = static_cast<const T*>(grad_out.raw_data());
  const T* px = static_cast<const T*>(x.raw_data());
  T* pgw = static_cast<T*>(grad_weight.raw_data());
  const int64_t k = g.patch(), p = g.pixels();
  std::vector<std::vector<T>> partial(static_cast<size_t>(omp_get_max_threads()));
#pragma omp parallel if (g.batch > 1)
  {
    std::vector<T> cols(static_cast<size_t>(k * p));
    std::vector<T>& acc = partial[static_cast<size_t>(omp_get_thread_num())];
    acc.assign(static_cast<size_t>(g.filters * k), T(0));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      im2col(px + n * g.image(), g, cols.data());
      gemm(false, true, g.filters, k, p, pg + n * g.filters * p, p, cols.data(), p, T(1), acc.data(), k);
    }
  }
  std::fill(pgw, pgw + g.filters * k, T(0));
  for (const std::vector<T>& acc : partial) {
    for (size_t i = 0; i < acc.size(); ++i) pgw[i] += acc[i];
  }
}

// grad_bias[o] = sum of grad_out[:, o], accumulated in f64 (a bias sees N*OH*OW terms).
template <class T>
void backward_bias(const Tensor& grad_out, const Tensor& grad_bias) {
  const int64_t batch = grad_out.shape()[0], filters = grad_out.shape()[1];
  const int64_t p = grad_out.shape()[2] * grad_out.shape()[3];
  const T* pg = static_cast<const T*>(grad_out.raw_data());
  T* pgb = static_cast<T*>(grad_bias.raw_data());
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < filters; ++o) {
    double total = 0.0;
    for (int64_t n = 0; n < batch; ++n) {
      const T* row = pg + (n * filters + o) * p;
      for (int64_t i = 0; i < p; ++i) total += static_cast<double>(row[i]);
    }
    pgb[o] = static_cast<T>(total);
  }
}

template <class T>
void backward_weight_and_bias(const Tensor& grad_out, const Tensor& x, const Conv2dParams& params,
                              const Tensor& grad_weight, const Tensor& grad_bias) {
  if (grad_weight.defined()) {
    backward_weight<T>(grad_out, x, Geometry(x.shape(), grad_weight.shape(), grad_out.shape(), params), grad_weight);
  }
  if (grad_bias.defined()) backward_bias<T>(grad_out, grad_bias);
}

// An f32 copy of a bf16/f16 tensor (undefined stays undefined).
Tensor widen(const Tensor& t) {
  if (!t.defined()) return t;
  Tensor wide = make_tensor(t.shape(), DType::f32, kCPU);
  cpu_backend().copy(t, wide);
  return wide;
}

// An f32 tensor to compute `t` into (undefined stays undefined).
Tensor wide_output(const Tensor& t) { return t.defined() ? make_tensor(t.shape(), DType::f32, kCPU) : t; }

void narrow_into(const Tensor& wide, const Tensor& out) {
  if (out.defined()) cpu_backend().copy(wide, out);
}

bool is_half(DType d) { return d == DType::bf16 || d == DType::f16; }

}  // namespace

void CpuBackend::conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& params,
                        const Tensor& out) {
  const Geometry g(x.shape(), weight.shape(), out.shape(), params);
  if (out.numel() == 0) return;
  switch (x.dtype()) {
    case DType::f32:
      return forward<float>(x, weight, bias, g, out);
    case DType::f64:
      return forward<double>(x, weight, bias, g, out);
    default:
      break;
  }
  SUBTB_CHECK(is_half(x.dtype()), "conv2d: not implemented for ", x.dtype(), " on cpu");
  const Tensor wide = wide_output(out);
  forward<float>(widen(x), widen(weight), widen(bias), g, wide);
  narrow_into(wide, out);
}

void CpuBackend::conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Conv2dParams& params,
                                       const Tensor& grad_x) {
  const Geometry g(grad_x.shape(), weight.shape(), grad_out.shape(), params);
  if (grad_x.numel() == 0) return;
  switch (grad_out.dtype()) {
    case DType::f32:
      return backward_input<float>(grad_out, weight, g, grad_x);
    case DType::f64:
      return backward_input<double>(grad_out, weight, g, grad_x);
    default:
      break;
  }
  SUBTB_CHECK(is_half(grad_out.dtype()), "conv2d_backward_input: not implemented for ", grad_out.dtype(), " on cpu");
  const Tensor wide = wide_output(grad_x);
  backward_input<float>(widen(grad_out), widen(weight), g, wide);
  narrow_into(wide, grad_x);
}

void CpuBackend::conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Conv2dParams& params,
                                        const Tensor& grad_weight, const Tensor& grad_bias) {
  switch (grad_out.dtype()) {
    case DType::f32:
      return backward_weight_and_bias<float>(grad_out, x, params, grad_weight, grad_bias);
    case DType::f64:
      return backward_weight_and_bias<double>(grad_out, x, params, grad_weight, grad_bias);
    default:
      break;
  }
  SUBTB_CHECK(is_half(grad_out.dtype()), "conv2d_backward_weight: not implemented for ", grad_out.dtype(), " on cpu");
  const Tensor wide_w = wide_output(grad_weight), wide_b = wide_output(grad_bias);
  backward_weight_and_bias<float>(widen(grad_out), widen(x), params, wide_w, wide_b);
  narrow_into(wide_w, grad_weight);
  narrow_into(wide_b, grad_bias);
}

}  // namespace subtb::cpu
