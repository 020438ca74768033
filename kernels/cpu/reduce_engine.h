#pragma once
// The CPU reduction engine shared by reduce, var, arg_reduce and scan.
//
// A reduction is first *planned*: x's dims are put in memory order (largest stride
// first), size-1 dims are dropped, and adjacent dims that are both kept or both reduced
// merge when x and out step through them as one. What happens next depends on x's
// innermost dim:
//  - reduced ("rows"): each output reduces contiguous runs of x with a tight loop over
//    independent accumulator lanes, which the compiler vectorises;
//  - kept ("columns"): the innermost kept dim becomes a block of output lanes, and every
//    reduced index adds one contiguous row of x into them. This streams x once instead
//    of walking it column by column.
// Work is split over OpenMP threads by outputs when there are enough of them, and by the
// reduced space otherwise, in which case each thread reduces a fixed slice and the
// partial results combine in thread order: deterministic for a given thread count.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "kernels/cpu/loops.h"
#include "tensor/tensor.h"

namespace subtb::cpu {

// An N-d strided space (row-major, innermost dim last) over two operands, x and out.
struct Space {
  int ndim = 0;
  std::array<int64_t, kMaxDims> size{}, x_stride{}, out_stride{};

  int64_t numel() const {
    int64_t n = 1;
    for (int d = 0; d < ndim; ++d) n *= size[d];
    return n;
  }
  void push(int64_t n, int64_t xs, int64_t os) {
    size[ndim] = n;
    x_stride[ndim] = xs;
    out_stride[ndim] = os;
    ++ndim;
  }
};

// Calls row(x_offset, out_offset, n, x_stride, out_stride) for each run of the innermost
// dim of `s` that lies within the row-major element range [begin, end).
template <class Row>
void walk_rows(const Space& s, int64_t begin, int64_t end, Row&& row) {
  if (begin >= end) return;
  if (s.ndim == 0) {
    row(int64_t{0}, int64_t{0}, int64_t{1}, int64_t{0}, int64_t{0});
    return;
  }
  const int last = s.ndim - 1;
  std::array<int64_t, kMaxDims> idx{};
  int64_t xo = 0, oo = 0, r = begin;
  for (int d = last; d >= 0; --d) {
    idx[d] = r % s.size[d];
    r /= s.size[d];
    xo += idx[d] * s.x_stride[d];
    oo += idx[d] * s.out_stride[d];
  }
  for (int64_t pos = begin; pos < end;) {
    const int64_t n = std::min(s.size[last] - idx[last], end - pos);
    row(xo, oo, n, s.x_stride[last], s.out_stride[last]);
    pos += n;
    idx[last] += n;
    xo += n * s.x_stride[last];
    oo += n * s.out_stride[last];
    for (int d = last; d > 0 && idx[d] == s.size[d]; --d) {
      xo += s.x_stride[d - 1] - idx[d] * s.x_stride[d];
      oo += s.out_stride[d - 1] - idx[d] * s.out_stride[d];
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

struct ReducePlan {
  Space kept;     // the output space (in columns mode without the lane dim)
  Space reduced;  // the reduced space; out_stride is 0 throughout
  bool columns = false;
  // Columns mode: the innermost kept dim, whose outputs accumulate side by side.
  int64_t lanes = 1, lane_x_stride = 0, lane_out_stride = 0;
};

// Plans the reduction of the dims of x in `mask`. out_strides are the output's strides
// in x's rank (their value on reduced dims is ignored).
inline ReducePlan plan_reduction(const Tensor& x, uint32_t mask, const Strides& out_strides) {
  struct Dim {
    int64_t size, xs, os;
    bool reduced;
  };
  std::array<Dim, kMaxDims> dims{};
  int n = 0;
  for (int d = 0; d < x.dim(); ++d) {
    if (x.shape()[d] == 1) continue;
    const bool reduced = (mask >> d) & 1u;
    dims[n++] = {x.shape()[d], x.strides()[d], reduced ? 0 : out_strides[d], reduced};
  }
  auto magnitude = [](int64_t s) { return s < 0 ? -s : s; };
  std::stable_sort(dims.begin(), dims.begin() + n,
                   [&](const Dim& a, const Dim& b) { return magnitude(a.xs) > magnitude(b.xs); });

  ReducePlan plan;
  std::array<Dim, kMaxDims> merged{};
  int m = 0;
  for (int i = 0; i < n; ++i) {
    const Dim& d = dims[i];
    if (m > 0) {
      Dim& p = merged[m - 1];
      if (p.reduced == d.reduced && p.xs == d.xs * d.size && p.os == d.os * d.size) {
        p.size *= d.size;
        p.xs = d.xs;
        p.os = d.os;
        continue;
      }
    }
    merged[m++] = d;
  }
  plan.columns = m > 0 && !merged[m - 1].reduced;
  if (plan.columns) {
    --m;
    plan.lanes = merged[m].size;
    plan.lane_x_stride = merged[m].xs;
    plan.lane_out_stride = merged[m].os;
  }
  for (int i = 0; i < m; ++i) {
    Space& s = merged[i].reduced ? plan.reduced : plan.kept;
    s.push(merged[i].size, merged[i].xs, merged[i].os);
  }
  return plan;
}

// An associative reduction over elements of type T, accumulating in Op::Acc:
//   Acc init() const;                       the identity
//   Acc step(Acc a, T v, double aux) const; folds in one element
//   Acc merge(Acc a, Acc b) const;          combines partial results
//   static constexpr bool kAux;             whether step reads `aux`, a per-output value
//                                           (the shift of logsumexp, the mean of var)
// and optionally Acc run(const T* p, int64_t n) const, a hand-vectorised reduction of a
// contiguous run that replaces the generic lanes loop below.
//
// Accumulator lanes: enough independent chains to hide the latency of an add and to fill
// the vector registers.
inline constexpr int kLanes = 16;

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
// The hot loops are also compiled for AVX2 and AVX-512, and the best version the CPU
// supports is picked when the library loads (GCC function multiversioning); everything
// else targets baseline x86-64, so the library still runs on any x86-64 CPU.
#define SUBTB_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SUBTB_VECTOR_CLONES
#endif

// A contiguous run of n >= kLanes elements.
template <class Op, class T>
SUBTB_VECTOR_CLONES typename Op::Acc reduce_run(const Op& op, const T* p, int64_t n, double aux) {
  if constexpr (requires { op.run(p, n); }) {
    return op.run(p, n);
  } else {
    std::array<typename Op::Acc, kLanes> lane;
    lane.fill(op.init());
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
      for (int j = 0; j < kLanes; ++j) lane[j] = op.step(lane[j], p[i + j], aux);
    // Pairwise halving into fresh arrays, which the compiler keeps in vector registers
    // (halving in place makes it spill the lanes to the stack).
    static_assert(kLanes == 16);
    std::array<typename Op::Acc, 8> half;
    for (int j = 0; j < 8; ++j) half[j] = op.merge(lane[j], lane[j + 8]);
    std::array<typename Op::Acc, 4> quarter;
    for (int j = 0; j < 4; ++j) quarter[j] = op.merge(half[j], half[j + 4]);
    typename Op::Acc acc = op.merge(op.merge(quarter[0], quarter[2]), op.merge(quarter[1], quarter[3]));
    for (; i < n; ++i) acc = op.step(acc, p[i], aux);
    return acc;
  }
}

template <class Op, class T>
typename Op::Acc reduce_row(const Op& op, const T* p, int64_t n, int64_t stride, double aux) {
  if (stride == 1 && n >= kLanes) return reduce_run(op, p, n, aux);
  typename Op::Acc acc = op.init();
  for (int64_t i = 0; i < n; ++i) acc = op.step(acc, p[i * stride], aux);
  return acc;
}

// Folds `n` rows of x (row k at p + k * row_stride, lanes at stride `lane_stride`) into
// the lane accumulators.
template <class Op, class T>
SUBTB_VECTOR_CLONES void accumulate_lanes(const Op& op, typename Op::Acc* acc, int64_t lanes, const T* p, int64_t n,
                                          int64_t row_stride, int64_t lane_stride, const double* aux) {
  for (int64_t k = 0; k < n; ++k) {
    const T* row = p + k * row_stride;
    if (lane_stride == 1) {
      for (int64_t j = 0; j < lanes; ++j) acc[j] = op.step(acc[j], row[j], Op::kAux ? aux[j] : 0.0);
    } else {
      for (int64_t j = 0; j < lanes; ++j) acc[j] = op.step(acc[j], row[j * lane_stride], Op::kAux ? aux[j] : 0.0);
    }
  }
}

// Lanes per block in columns mode: a block of accumulators stays in cache while whole
// rows of x stream past.
inline constexpr int64_t kLaneBlock = 4096;

// Runs `op` over the plan. `out_numel` is the number of outputs (out is contiguous, so an
// output offset is its index); aux, when Op::kAux, holds one value per output.
// sink(out_offset, acc) receives each result exactly once, possibly from several threads.
template <class T, class Op, class Sink>
void run_reduce(const ReducePlan& plan, const T* x, int64_t x_numel, int64_t out_numel, const Op& op, const double* aux,
                Sink&& sink) {
  using Acc = typename Op::Acc;
  if (out_numel == 0) return;
  if (x_numel == 0) {  // empty reductions give the identity
    for (int64_t o = 0; o < out_numel; ++o) sink(o, op.init());
    return;
  }
  const int64_t n_reduced = plan.reduced.numel();
  const int max_threads = x_numel < kParallelThreshold ? 1 : omp_get_max_threads();
  auto aux_at = [&](int64_t o) { return Op::kAux ? aux[o] : 0.0; };

  if (!plan.columns) {
    // The reduced elements [b, e) of the output whose x block starts at xo.
    auto reduce_slice = [&](int64_t xo, int64_t b, int64_t e, double a) {
      if (plan.reduced.ndim == 1)
        return reduce_row(op, x + xo + b * plan.reduced.x_stride[0], e - b, plan.reduced.x_stride[0], a);
      Acc acc = op.init();
      walk_rows(plan.reduced, b, e, [&](int64_t ro, int64_t, int64_t n, int64_t rs, int64_t) {
        acc = op.merge(acc, reduce_row(op, x + xo + ro, n, rs, a));
      });
      return acc;
    };
    auto reduce_outputs = [&](int64_t b, int64_t e) {
      walk_rows(plan.kept, b, e, [&](int64_t xo, int64_t oo, int64_t n, int64_t xs, int64_t os) {
        for (int64_t k = 0; k < n; ++k) sink(oo + k * os, reduce_slice(xo + k * xs, 0, n_reduced, aux_at(oo + k * os)));
      });
    };
    const int64_t n_out = plan.kept.numel();
    if (max_threads == 1) {
      reduce_outputs(0, n_out);
    } else if (n_out >= max_threads) {
#pragma omp parallel num_threads(max_threads)
      {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        reduce_outputs(n_out * t / nt, n_out * (t + 1) / nt);
      }
    } else {
      struct alignas(64) Slot {  // a cache line per thread
        Acc value;
      };
      std::vector<Slot> partial(static_cast<size_t>(max_threads));
      walk_rows(plan.kept, 0, n_out, [&](int64_t xo0, int64_t oo0, int64_t n, int64_t xs, int64_t os) {
        for (int64_t k = 0; k < n; ++k) {
          const int64_t xo = xo0 + k * xs, oo = oo0 + k * os;
          int team = 1;
#pragma omp parallel num_threads(max_threads)
          {
            const int t = omp_get_thread_num(), nt = omp_get_num_threads();
            partial[static_cast<size_t>(t)].value =
                reduce_slice(xo, n_reduced * t / nt, n_reduced * (t + 1) / nt, aux_at(oo));
#pragma omp single
            team = nt;
          }
          Acc acc = partial[0].value;
          for (int t = 1; t < team; ++t) acc = op.merge(acc, partial[static_cast<size_t>(t)].value);
          sink(oo, acc);
        }
      });
    }
    return;
  }

  // Columns mode. An item is one block of lanes of one kept position; blocks are near
  // equal in width so that threads get equal shares.
  const int64_t min_blocks = (plan.lanes + kLaneBlock - 1) / kLaneBlock;
  const int64_t width =
      std::min(kLaneBlock, ((plan.lanes + min_blocks - 1) / min_blocks + kLanes - 1) / kLanes * kLanes);
  const int64_t blocks = (plan.lanes + width - 1) / width;
  const int64_t n_items = plan.kept.numel() * blocks;
  struct Item {
    int64_t xo, oo, lanes;
  };
  auto item_at = [&](int64_t i) {
    Item it{0, 0, 0};
    const int64_t first = i % blocks * width;
    walk_rows(plan.kept, i / blocks, i / blocks + 1, [&](int64_t xo, int64_t oo, int64_t, int64_t, int64_t) {
      it = {xo + first * plan.lane_x_stride, oo + first * plan.lane_out_stride, std::min(width, plan.lanes - first)};
    });
    return it;
  };
  // Folds the reduced elements [b, e) of item `it` into acc, with aux gathered per lane.
  auto fold = [&](const Item& it, Acc* acc, const double* lane_aux, int64_t b, int64_t e) {
    std::fill(acc, acc + it.lanes, op.init());
    walk_rows(plan.reduced, b, e, [&](int64_t ro, int64_t, int64_t n, int64_t rs, int64_t) {
      accumulate_lanes(op, acc, it.lanes, x + it.xo + ro, n, rs, plan.lane_x_stride, lane_aux);
    });
  };
  auto gather_aux = [&](const Item& it, double* lane_aux) {
    if constexpr (Op::kAux)
      for (int64_t j = 0; j < it.lanes; ++j) lane_aux[j] = aux[it.oo + j * plan.lane_out_stride];
  };
  auto emit = [&](const Item& it, const Acc* acc) {
    for (int64_t j = 0; j < it.lanes; ++j) sink(it.oo + j * plan.lane_out_stride, acc[j]);
  };
  auto run_items = [&](int64_t b, int64_t e) {
    alignas(64) std::array<Acc, kLaneBlock> acc;
    std::array<double, Op::kAux ? kLaneBlock : 1> lane_aux;
    for (int64_t i = b; i < e; ++i) {
      const Item it = item_at(i);
      gather_aux(it, lane_aux.data());
      fold(it, acc.data(), lane_aux.data(), 0, n_reduced);
      emit(it, acc.data());
    }
  };
  if (max_threads == 1) {
    run_items(0, n_items);
  } else if (n_items >= max_threads) {
#pragma omp parallel num_threads(max_threads)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      run_items(n_items * t / nt, n_items * (t + 1) / nt);
    }
  } else {
    // Few long columns: every thread folds a slice of the reduced space into its own lanes.
    struct alignas(64) Block {
      std::array<Acc, kLaneBlock> lanes;
    };
    std::vector<Block> partial(static_cast<size_t>(max_threads));
    std::array<double, Op::kAux ? kLaneBlock : 1> lane_aux;
    for (int64_t i = 0; i < n_items; ++i) {
      const Item it = item_at(i);
      gather_aux(it, lane_aux.data());
      int team = 1;
#pragma omp parallel num_threads(max_threads)
      {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        fold(it, partial[static_cast<size_t>(t)].lanes.data(), lane_aux.data(), n_reduced * t / nt,
             n_reduced * (t + 1) / nt);
#pragma omp single
        team = nt;
      }
      for (int t = 1; t < team; ++t)
        for (int64_t j = 0; j < it.lanes; ++j)
          partial[0].lanes[j] = op.merge(partial[0].lanes[j], partial[static_cast<size_t>(t)].lanes[j]);
      emit(it, partial[0].lanes.data());
    }
  }
}

}  // namespace subtb::cpu
