// Indexing CPU kernels. Each is one loop over an iteration space in which the index
// tensor is seen with the data's shape: index_select's 1-d index becomes a view with
// stride 0 off `dim`, so index_select shares gather's loop and index_add shares
// scatter_add's.
//
// The accumulating kernels are deterministic. A position off `dim` names one output
// fiber (the line along `dim`), so threads own disjoint sets of fibers and each fiber
// adds its sources in index order, whatever the thread count.
#include <algorithm>
#include <cstdlib>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/loops.h"

namespace subtb::cpu {

namespace {

// A 1-d index along `dim` seen with `shape`: stride 0 on every other dim.
Tensor index_along(const Tensor& index, int dim, const Shape& shape) {
  Strides strides = Shape::filled(shape.size(), 0);
  strides[dim] = index.strides()[0];
  return make_view(index, shape, strides, index.offset());
}

// out[p] = x[p with p[dim] replaced by index[p]] for every position p of out.
template <class T>
void gather_loop(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  // x walked with out's shape: stride 0 along `dim`, where the index picks the element.
  Strides x_strides = x.strides();
  const int64_t x_step = x_strides[dim];
  x_strides[dim] = 0;
  T* const o = out.data<T>();
  const int64_t* const idx = index.data<int64_t>();
  const T* const src = x.data<T>();
  for_each_row<3>(out.shape(), {&out.strides(), &index.strides(), &x_strides},
                  [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
                    T* po = o + off[0];
                    const int64_t* pi = idx + off[1];
                    const T* px = src + off[2];
                    if (st[1] == 0) {  // one index for the whole row: a strided copy of one slice
                      const T* from = px + pi[0] * x_step;
                      if (st[0] == 1 && st[2] == 1) {
                        std::copy_n(from, n, po);
                      } else {
                        for (int64_t j = 0; j < n; ++j) po[j * st[0]] = from[j * st[2]];
                      }
                    } else {
                      for (int64_t j = 0; j < n; ++j) po[j * st[0]] = px[j * st[2] + pi[j * st[1]] * x_step];
                    }
                  });
}

// for_each_row over `fibers` (an iteration space with `dim` collapsed to 1) that sizes
// its threading by `work`, the number of elements the fibers stand for, and splits the
// space along its largest dim so that each thread owns whole fibers.
template <size_t K, class Row>
void for_each_fiber_row(const Shape& fibers, const std::array<const Strides*, K>& strides, int64_t work, Row&& row) {
  if (work < kParallelThreshold || omp_get_max_threads() == 1 || fibers.numel() < 2) {
    for_each_row<K>(fibers, strides, row, /*allow_parallel=*/false);
    return;
  }
  int split = 0;
  for (int d = 1; d < fibers.size(); ++d)
    if (fibers[d] > fibers[split]) split = d;
  const int64_t extent = fibers[split];
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    const int64_t begin = extent * t / T, end = extent * (t + 1) / T;
    if (begin < end) {
      Shape part = fibers;
      part[split] = end - begin;
      std::array<int64_t, K> base{};
      for (size_t k = 0; k < K; ++k) base[k] = begin * (*strides[k])[split];
      for_each_row<K>(
          part, strides,
          [&](const std::array<int64_t, K>& off, int64_t n, const std::array<int64_t, K>& st) {
            std::array<int64_t, K> shifted;
            for (size_t k = 0; k < K; ++k) shifted[k] = off[k] + base[k];
            row(shifted, n, st);
          },
          /*allow_parallel=*/false);
    }
  }
}

// out[p with p[dim] replaced by index[p]] += src[p] for every position p of src.
template <class T>
void scatter_add_loop(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  using C = compute_t<T>;
  Shape fibers = src.shape();
  const int64_t length = fibers[dim];
  fibers[dim] = 1;
  const int64_t out_step = out.strides()[dim], index_step = index.strides()[dim], src_step = src.strides()[dim];
  T* const o = out.data<T>();
  const int64_t* const idx = index.data<int64_t>();
  const T* const s = src.data<T>();
  for_each_fiber_row<3>(
      fibers, {&out.strides(), &index.strides(), &src.strides()}, src.numel(),
      [&](const std::array<int64_t, 3>& off, int64_t n, const std::array<int64_t, 3>& st) {
        // Walk whichever axis is closer together in memory innermost. Each
        // element still adds its sources in index order (k ascending).
        auto add = [&](int64_t j, int64_t k) {
          T& dst = o[off[0] + j * st[0] + idx[off[1] + j * st[1] + k * index_step] * out_step];
          dst = T(static_cast<C>(static_cast<C>(dst) + static_cast<C>(s[off[2] + j * st[2] + k * src_step])));
        };
        if (std::abs(src_step) < std::abs(st[2])) {
          for (int64_t j = 0; j < n; ++j)
            for (int64_t k = 0; k < length; ++k) add(j, k);
        } else {
          for (int64_t k = 0; k < length; ++k)
            for (int64_t j = 0; j < n; ++j) add(j, k);
        }
      });
}

}  // namespace

void CpuBackend::gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() { gather_loop<T>(x, dim, index, out); });
}

void CpuBackend::index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out) {
  visit_dtype(x.dtype(), [&]<class T>() { gather_loop<T>(x, dim, index_along(index, dim, out.shape()), out); });
}

void CpuBackend::scatter_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>)
      SUBTB_THROW("scatter_add: cannot accumulate into ", describe(out));
    else
      scatter_add_loop<T>(out, dim, index, src);
  });
}

void CpuBackend::index_add(const Tensor& out, int dim, const Tensor& index, const Tensor& src) {
  visit_dtype(out.dtype(), [&]<class T>() {
    if constexpr (std::is_same_v<T, bool>)
      SUBTB_THROW("index_add: cannot accumulate into ", describe(out));
    else
      scatter_add_loop<T>(out, dim, index_along(index, dim, src.shape()), src);
  });
}

}  // namespace subtb::cpu
