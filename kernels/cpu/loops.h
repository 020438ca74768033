#pragma once
// The CPU loop engine shared by every elementwise-shaped kernel.
//
// An N-d strided iteration is first *coalesced*: size-1 dims are dropped and adjacent
// dims merge when every operand steps through them as one (stride[i] == stride[i+1] *
// size[i+1]). A contiguous tensor of any shape becomes a single row; a transposed or
// broadcast one becomes a few rows. The innermost dim is then a tight loop the
// compiler vectorises when every operand has unit stride, and the rows are spread over
// OpenMP threads when there is enough work to pay for the fork.
#include <omp.h>

#include <array>
#include <cstdint>

#include "tensor/tensor.h"

namespace subtb::cpu {

// Below this many elements a kernel runs on one thread: forking costs more than it saves.
inline constexpr int64_t kParallelThreshold = 1 << 15;

template <size_t K>
struct Layout {
  int ndim = 0;  // after coalescing; 0 means a single element
  std::array<int64_t, kMaxDims> sizes{};
  std::array<std::array<int64_t, kMaxDims>, K> strides{};
};

template <size_t K>
Layout<K> coalesce(const Shape& shape, const std::array<const Strides*, K>& strides) {
  Layout<K> L;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (L.ndim > 0) {
      const int last = L.ndim - 1;
      bool merge = true;
      for (size_t k = 0; k < K; ++k)
        merge = merge && L.strides[k][last] == (*strides[k])[d] * shape[d];
      if (merge) {
        L.sizes[last] *= shape[d];
        for (size_t k = 0; k < K; ++k) L.strides[k][last] = (*strides[k])[d];
        continue;
      }
    }
    L.sizes[L.ndim] = shape[d];
    for (size_t k = 0; k < K; ++k) L.strides[k][L.ndim] = (*strides[k])[d];
    ++L.ndim;
  }
  return L;
}

// Calls row(offsets, n, inner) for every innermost row of the iteration space, where
// offsets[k] is operand k's element offset of the row's first element, n the row length
// and inner[k] operand k's stride along the row. Rows run in parallel for large inputs,
// so `row` must only write the elements of its own row.
template <size_t K, class Row>
void for_each_row(const Shape& shape, const std::array<const Strides*, K>& strides, Row&& row,
                  bool allow_parallel = true) {
  const int64_t numel = shape.numel();
  if (numel == 0) return;
  const Layout<K> L = coalesce<K>(shape, strides);
  std::array<int64_t, K> inner{};
  if (L.ndim == 0) {
    std::array<int64_t, K> zero{};
    row(zero, int64_t{1}, inner);
    return;
  }
  const int last = L.ndim - 1;
  const int64_t n = L.sizes[last];
  for (size_t k = 0; k < K; ++k) inner[k] = L.strides[k][last];
  const int64_t rows = numel / n;

  auto run_rows = [&](int64_t begin, int64_t end) {
    // Multi-index of row `begin` over the outer dims, then odometer increments.
    std::array<int64_t, kMaxDims> idx{};
    std::array<int64_t, K> off{};
    int64_t r = begin;
    for (int d = last - 1; d >= 0; --d) {
      idx[d] = r % L.sizes[d];
      r /= L.sizes[d];
      for (size_t k = 0; k < K; ++k) off[k] += idx[d] * L.strides[k][d];
    }
    for (int64_t i = begin; i < end; ++i) {
      row(off, n, inner);
      for (int d = last - 1; d >= 0; --d) {
        ++idx[d];
        for (size_t k = 0; k < K; ++k) off[k] += L.strides[k][d];
        if (idx[d] < L.sizes[d]) break;
        for (size_t k = 0; k < K; ++k) off[k] -= idx[d] * L.strides[k][d];
        idx[d] = 0;
      }
    }
  };

  if (!allow_parallel || numel < kParallelThreshold || omp_get_max_threads() == 1) {
    run_rows(0, rows);
    return;
  }
  if (rows == 1) {
    // One long row: split it into chunks, each its own (shorter) row.
    const int threads = omp_get_max_threads();
    const int64_t chunk = (n + threads - 1) / threads;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < threads; ++t) {
      const int64_t b = t * chunk, e = std::min(n, b + chunk);
      if (b >= e) continue;
      std::array<int64_t, K> off{};
      for (size_t k = 0; k < K; ++k) off[k] = b * inner[k];
      row(off, e - b, inner);
    }
    return;
  }
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    const int64_t b = rows * t / T, e = rows * (t + 1) / T;
    if (b < e) run_rows(b, e);
  }
}

// out[i] = f(in_0[i], in_1[i], ...) elementwise, with the C++ element types given
// explicitly. Inputs must already have out's shape (expand() them for broadcasting).
template <class OutT, class... InT, class F>
void map(const Tensor& out, F f, const std::conditional_t<true, Tensor, InT>&... in) {
  constexpr size_t K = 1 + sizeof...(InT);
  std::array<const Strides*, K> strides{&out.strides(), &in.strides()...};
  OutT* const o = static_cast<OutT*>(out.raw_data());
  const std::tuple<const InT*...> bases{static_cast<const InT*>(in.raw_data())...};
  // Small and all contiguous (the common case for tiny ops): one flat loop, none of the
  // layout work below, which would cost more than the arithmetic.
  const int64_t numel = out.numel();
  if (numel < kParallelThreshold && out.is_contiguous() && (in.is_contiguous() && ...)) {
    std::apply([&](const InT*... b) { for (int64_t j = 0; j < numel; ++j) o[j] = f(b[j]...); }, bases);
    return;
  }
  for_each_row<K>(out.shape(), strides, [&](const std::array<int64_t, K>& off, int64_t n,
                                            const std::array<int64_t, K>& st) {
    bool unit = true;
    for (size_t k = 0; k < K; ++k) unit = unit && (st[k] == 1);
    std::apply(
        [&](const InT*... b) {
          [&]<size_t... I>(std::index_sequence<I...>) {
            OutT* po = o + off[0];
            if (unit) {
              const std::tuple<const InT*...> p{(b + off[I + 1])...};
              for (int64_t j = 0; j < n; ++j) po[j] = f(std::get<I>(p)[j]...);
            } else {
              for (int64_t j = 0; j < n; ++j) po[j * st[0]] = f(b[off[I + 1] + j * st[I + 1]]...);
            }
          }(std::index_sequence_for<InT...>{});
        },
        bases);
  });
}

}  // namespace subtb::cpu
