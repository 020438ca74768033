#pragma once
// Row-wise kernels (softmax, cross-entropy, the norms) see a tensor as rows along one dim:
// every position of the other dims is one row. This file enumerates the rows of several
// operands at once, spreads them over threads, and moves a row between its storage
// (strided, possibly a 16-bit float) and a contiguous buffer of the compute type.
#include <omp.h>

#include <array>
#include <memory>
#include <type_traits>

#include "kernels/cpu/loops.h"

namespace subtb::cpu {

// Runs `worker(row, offsets)` for every row along `dim` of `shape`, where `row` counts
// the rows in row-major order of the other dims and offsets[k] is the element offset of
// the row's first element in operand k (strides[k] are its strides, in `shape`'s dims).
// `make_worker()` runs once per thread and returns that thread's worker, so per-thread
// scratch buffers live in it. Threads take contiguous ranges of rows when there is enough
// work, so a worker must only write its own rows.
template <size_t K, class MakeWorker>
void for_each_row_along(const Shape& shape, int dim, const std::array<const Strides*, K>& strides,
                        MakeWorker&& make_worker) {
  Shape outer;
  std::array<Strides, K> outer_strides;
  for (int d = 0; d < shape.size(); ++d) {
    if (d == dim) continue;
    outer.push_back(shape[d]);
    for (size_t k = 0; k < K; ++k) outer_strides[k].push_back((*strides[k])[d]);
  }
  const int64_t rows = outer.numel();
  if (rows == 0) return;
  std::array<const Strides*, K> outer_ptrs;
  for (size_t k = 0; k < K; ++k) outer_ptrs[k] = &outer_strides[k];
  const Layout<K> L = coalesce<K>(outer, outer_ptrs);

  auto offsets_of = [&L](int64_t r) {
    std::array<int64_t, K> off{};
    for (int d = L.ndim - 1; d >= 0; --d) {
      const int64_t i = r % L.sizes[d];
      r /= L.sizes[d];
      for (size_t k = 0; k < K; ++k) off[k] += i * L.strides[k][d];
    }
    return off;
  };
  auto run = [&](int64_t begin, int64_t end) {
    auto worker = make_worker();
    for (int64_t r = begin; r < end; ++r) worker(r, offsets_of(r));
  };

  const int64_t work = rows * std::max<int64_t>(shape[dim], 1);
  if (rows == 1 || work < kParallelThreshold || omp_get_max_threads() == 1) {
    run(0, rows);
    return;
  }
#pragma omp parallel
  {
    const int64_t t = omp_get_thread_num(), threads = omp_get_num_threads();
    const int64_t begin = rows * t / threads, end = rows * (t + 1) / threads;
    if (begin < end) run(begin, end);
  }
}

// Uninitialised scratch for one row of C, or nothing when `needed` is false.
template <class C>
std::unique_ptr<C[]> row_buffer(int64_t n, bool needed) {
  return needed ? std::make_unique_for_overwrite<C[]>(static_cast<size_t>(n)) : nullptr;
}

// True when a row of T with this stride can be used in place as a contiguous C row.
template <class C, class T>
constexpr bool is_direct_row(int64_t stride) {
  return std::is_same_v<C, T> && stride == 1;
}

// Row `p` (n elements, `stride` apart) as contiguous C: the storage itself when it is one
// already, else a converted copy in `scratch`.
template <class C, class T>
const C* read_row(const T* p, int64_t stride, int64_t n, C* scratch) {
  if constexpr (std::is_same_v<C, T>) {
    if (stride == 1) return p;
  }
  for (int64_t j = 0; j < n; ++j) scratch[j] = static_cast<C>(p[j * stride]);
  return scratch;
}

// Where to compute an output row: the storage itself when it is a contiguous C row, else
// `scratch`, which write_row then converts and copies out.
template <class C, class T>
C* row_target(T* p, int64_t stride, C* scratch) {
  if constexpr (std::is_same_v<C, T>) {
    if (stride == 1) return p;
  }
  return scratch;
}

template <class C, class T>
void write_row(const C* row, T* p, int64_t stride, int64_t n) {
  if constexpr (std::is_same_v<C, T>) {
    if (row == p) return;
  }
  for (int64_t j = 0; j < n; ++j) p[j * stride] = T(row[j]);
}

}  // namespace subtb::cpu
