// Attention backward, FlashAttention-2 style. With P = exp(S - lse) the probabilities
// recomputed tile by tile from the saved lse, dO the output gradient and
// delta_i = rowsum(dO_i * O_i):
//   dV = P^T dO,   dP = dO V^T,   dS = P * (dP - delta) * scale,   dQ = dS K,   dK = dS^T Q.
// One task per (batch, key/value head, split of the key tiles) owns the dK and dV rows of
// its key tiles and walks, for each, the query heads of its group and their query tiles
// in order. dQ is summed across key tiles: the first split adds into dQ itself, each other
// split into a buffer of its own, and the buffers are added in split order afterwards
// (backward_splits: the count depends on the shapes only, so the result is the same bit
// for bit on every run and thread count).
#include <omp.h>

#include <vector>

#include "kernels/cpu/attention_tiles.h"
#include "kernels/cpu/softmax_math.h"

namespace subtb::cpu::attention {

namespace {

// P = exp(S - lse) over one row of a tile, 0 for hidden keys and for a query with no key.
template <class C>
SUBTB_MULTIVERSION void probabilities_row(C* s, int64_t n, C lse, const Visibility& vis, int64_t b, int64_t i,
                                          int64_t j0) {
  const int64_t visible_end = std::clamp<int64_t>(vis.end(b, i) - j0, 0, n);
  if (lse == kNegInf<C>) {
    std::fill(s, s + n, C(0));
    return;
  }
  constexpr int64_t W = vec::kLanes<C>;
  const vec::Vec<C> l = vec::splat(lse);
  int64_t j = 0;
  for (; j + W <= visible_end; j += W) vec::store(s + j, vec::exp(vec::load(s + j) - l));
  for (; j < visible_end; ++j) s[j] = std::exp(s[j] - lse);
  std::fill(s + visible_end, s + n, C(0));
  if (vis.has_mask())
    for (j = 0; j < visible_end; ++j)
      if (!vis.visible(b, j0 + j)) s[j] = C(0);
}

// dS = P * (dP - delta) * scale, written over dP.
template <class C>
SUBTB_MULTIVERSION void score_grad_row(const C* p, C* dp, int64_t n, C delta, C scale) {
  for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - delta) * scale;
}

template <class C>
SUBTB_MULTIVERSION C dot(const C* a, const C* b, int64_t n) {
  constexpr int64_t W = vec::kLanes<C>;
  vec::Vec<C> acc{};
  int64_t i = 0;
  for (; i + W <= n; i += W) acc += vec::load(a + i) * vec::load(b + i);
  C s = vec::reduce_add(acc);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

template <class C>
struct Operands {
  Heads<const C> Q, K, V, dO;
  Heads<C> dK, dV;
  const C* lse;    // [B, Hq, Tq]
  const C* delta;  // [B, Hq, Tq]
  C* const* dq;    // per split, a contiguous [B, Hq, Tq, D] buffer; null when dQ is not wanted
  int64_t hq, tq, d, group;
};

// Everything one key tile [j0, j0 + nk) of (b, g) contributes: its dK and dV rows, and
// its share of dQ into the split's buffer.
template <class C>
void key_tile(const Operands<C>& op, const Visibility& vis, C scale, int64_t b, int64_t g, int64_t j0, int64_t nk,
              int64_t split, C* p, C* ds) {
  const int64_t d = op.d;
  C* dk = op.dK.data ? op.dK.row(b, g, j0) : nullptr;
  C* dv = op.dV.data ? op.dV.row(b, g, j0) : nullptr;
  for (int64_t r = 0; r < nk; ++r) {
    if (dk) std::fill(dk + r * d, dk + (r + 1) * d, C(0));
    if (dv) std::fill(dv + r * d, dv + (r + 1) * d, C(0));
  }
  // Queries before first_query see none of these keys (causal): end(b, i) <= j0.
  int64_t first_query = 0;
  while (first_query < op.tq && vis.end(b, first_query) <= j0) ++first_query;
  const int64_t ld = kBackwardKeyTile;
  for (int64_t h = g * op.group; h < (g + 1) * op.group; ++h) {
    const C* lse = op.lse + (b * op.hq + h) * op.tq;
    const C* delta = op.delta + (b * op.hq + h) * op.tq;
    for (int64_t i0 = first_query; i0 < op.tq; i0 += kQueryTile) {
      const int64_t nq = std::min(kQueryTile, op.tq - i0);
      const C* q = op.Q.row(b, h, i0);
      const C* dout = op.dO.row(b, h, i0);
      // P = exp(scale * Q K^T - lse)
      gemm(false, true, nq, nk, d, scale, q, op.Q.ld(), op.K.row(b, g, j0), op.K.ld(), C(0), p, ld);
      for (int64_t r = 0; r < nq; ++r) probabilities_row(p + r * ld, nk, lse[i0 + r], vis, b, i0 + r, j0);
      // dV += P^T dO
      if (dv) gemm(true, false, nk, d, nq, C(1), p, ld, dout, op.dO.ld(), C(1), dv, static_cast<blasint>(d));
      // dS = P * (dO V^T - delta) * scale
      gemm(false, true, nq, nk, d, C(1), dout, op.dO.ld(), op.V.row(b, g, j0), op.V.ld(), C(0), ds, ld);
      for (int64_t r = 0; r < nq; ++r) score_grad_row(p + r * ld, ds + r * ld, nk, delta[i0 + r], scale);
      // dK += dS^T Q, dQ += dS K
      if (dk) gemm(true, false, nk, d, nq, C(1), ds, ld, q, op.Q.ld(), C(1), dk, static_cast<blasint>(d));
      if (op.dq) {
        C* dq = op.dq[split] + ((b * op.hq + h) * op.tq + i0) * d;
        gemm(false, false, nq, d, nk, C(1), ds, ld, op.K.row(b, g, j0), op.K.ld(), C(1), dq, static_cast<blasint>(d));
      }
    }
  }
}

}  // namespace

template <class C>
void backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& grad_out,
              const Tensor& lse, const Visibility& vis, C scale, const Tensor& grad_q, const Tensor& grad_k,
              const Tensor& grad_v) {
  const int64_t batch = q.shape()[0], hq = q.shape()[1], tq = q.shape()[2], d = q.shape()[3];
  const int64_t hkv = k.shape()[1], tk = k.shape()[2];
  const int64_t key_tiles = (tk + kBackwardKeyTile - 1) / kBackwardKeyTile;
  const int64_t splits = backward_splits(batch * hkv, key_tiles);
  const int64_t tiles_per_split = (key_tiles + splits - 1) / splits;
  const int64_t rows = batch * hq * tq;

  // delta_i = rowsum(dO_i * O_i)
  std::vector<C> delta(static_cast<size_t>(rows));
  const Heads<const C> O(out), dO(grad_out);
#pragma omp parallel for collapse(3) schedule(static) if (rows * d > 32768)
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < hq; ++h)
      for (int64_t i = 0; i < tq; ++i) delta[(b * hq + h) * tq + i] = dot(dO.row(b, h, i), O.row(b, h, i), d);

  // The first split accumulates dQ in grad_q itself, the others in buffers of their own.
  Tensor dq_extra;
  std::vector<C*> dq(static_cast<size_t>(splits), nullptr);
  if (grad_q.defined()) {
    if (splits > 1) dq_extra = make_tensor({splits - 1, batch, hq, tq, d}, q.dtype(), kCPU);
    for (int64_t s = 0; s < splits; ++s) {
      dq[s] = s == 0 ? static_cast<C*>(grad_q.raw_data()) : static_cast<C*>(dq_extra.raw_data()) + (s - 1) * rows * d;
      std::fill(dq[s], dq[s] + rows * d, C(0));
    }
  }
  const Operands<C> op{Heads<const C>(q),
                       Heads<const C>(k),
                       Heads<const C>(v),
                       dO,
                       Heads<C>::of(grad_k),
                       Heads<C>::of(grad_v),
                       static_cast<const C*>(lse.raw_data()),
                       delta.data(),
                       grad_q.defined() ? dq.data() : nullptr,
                       hq,
                       tq,
                       d,
                       hq / hkv};
#pragma omp parallel if (batch * hkv * splits > 1)
  {
    std::vector<C> p(kQueryTile * kBackwardKeyTile), ds(kQueryTile * kBackwardKeyTile);
#pragma omp for collapse(3) schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t g = 0; g < hkv; ++g)
        for (int64_t s = 0; s < splits; ++s)
          for (int64_t t = s * tiles_per_split; t < std::min(key_tiles, (s + 1) * tiles_per_split); ++t) {
            const int64_t j0 = t * kBackwardKeyTile;
            key_tile(op, vis, scale, b, g, j0, std::min(kBackwardKeyTile, tk - j0), s, p.data(), ds.data());
          }
  }

  if (grad_q.defined() && splits > 1) {
    const int64_t n = rows * d;
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t e = 0; e < n; ++e)
      for (int64_t s = 1; s < splits; ++s) dq[0][e] += dq[s][e];
  }
}

template void backward<float>(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                              const Visibility&, float, const Tensor&, const Tensor&, const Tensor&);
template void backward<double>(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                               const Visibility&, double, const Tensor&, const Tensor&, const Tensor&);

}  // namespace subtb::cpu::attention
