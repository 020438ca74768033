// Attention forward, FlashAttention-2 style: one task per (batch, query head, tile of
// kQueryTile queries) walks the key tiles in order, keeping for each of its queries the
// running max m of the scores, the running sum l of exp(score - m) and the unnormalised
// output O = sum exp(score - m) v. A tile with a larger max rescales l and O by
// exp(m_old - m_new) first. At the end out = O / l and lse = m + log l: memory is one
// [kQueryTile, kForwardKeyTile] score tile and one [kQueryTile, D] accumulator per thread.
#include <omp.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/attention_tiles.h"
#include "kernels/cpu/softmax_math.h"

namespace subtb::cpu::attention {

namespace {

// Per-thread state of one query tile.
template <class C>
struct QueryTileState {
  std::vector<C> scores;  // [kQueryTile, kForwardKeyTile]: scores, then exp(score - m)
  std::vector<C> acc;     // [kQueryTile, D]: the unnormalised output
  std::vector<C> max, sum;
  explicit QueryTileState(int64_t d)
      : scores(kQueryTile * kForwardKeyTile), acc(kQueryTile * d), max(kQueryTile), sum(kQueryTile) {}
};

// Hides keys [j0, j0 + n) of row i that the masks exclude by setting their scores to -inf.
template <class C>
void mask_row(const Visibility& vis, int64_t b, int64_t i, int64_t j0, int64_t n, C* s) {
  const int64_t end = vis.end(b, i);
  for (int64_t j = std::max<int64_t>(end - j0, 0); j < n; ++j) s[j] = kNegInf<C>;
  if (vis.has_mask())
    for (int64_t j = 0; j < std::min(n, end - j0); ++j)
      if (!vis.visible(b, j0 + j)) s[j] = kNegInf<C>;
}

// Folds one row of scores s[0, n) into the running (max, sum), turning s into the
// probabilities exp(s - max) relative to the new max, and returns the factor that the
// row's accumulator must be multiplied by. -inf scores stay exact: while every score so
// far is -inf the max is -inf, the terms are exp(-inf - 0) = 0 and the factor is 1.
template <class C>
SUBTB_MULTIVERSION C online_softmax_row(C* s, int64_t n, C& max, C& sum) {
  const C new_max = std::max(max, vec::row_max(s, n));
  const C rescale = new_max == max ? C(1) : std::exp(max - new_max);
  sum = sum * rescale + sum_exp(s, n, new_max == kNegInf<C> ? C(0) : new_max, s);
  max = new_max;
  return rescale;
}

template <class C>
void query_tile(const Heads<const C>& Q, const Heads<const C>& K, const Heads<const C>& V, const Heads<C>& O, C* lse,
                const Visibility& vis, C scale, int64_t b, int64_t h, int64_t g, int64_t i0, int64_t nq, int64_t d,
                QueryTileState<C>& st) {
  std::fill(st.acc.begin(), st.acc.begin() + nq * d, C(0));
  std::fill(st.max.begin(), st.max.end(), kNegInf<C>);
  std::fill(st.sum.begin(), st.sum.end(), C(0));
  const int64_t key_end = vis.end(b, i0 + nq - 1);
  for (int64_t j0 = 0; j0 < key_end; j0 += kForwardKeyTile) {
    const int64_t nk = std::min(kForwardKeyTile, key_end - j0);
    // scores = scale * Q_tile K_tile^T
    gemm(false, true, nq, nk, d, scale, Q.row(b, h, i0), Q.ld(), K.row(b, g, j0), K.ld(), C(0), st.scores.data(),
         kForwardKeyTile);
    for (int64_t r = 0; r < nq; ++r) {
      C* s = st.scores.data() + r * kForwardKeyTile;
      mask_row(vis, b, i0 + r, j0, nk, s);
      const C rescale = online_softmax_row(s, nk, st.max[r], st.sum[r]);
      if (rescale != C(1))
        for (C *a = st.acc.data() + r * d, *e = a + d; a < e; ++a) *a *= rescale;
    }
    // acc += P V_tile
    gemm(false, false, nq, d, nk, C(1), st.scores.data(), kForwardKeyTile, V.row(b, g, j0), V.ld(), C(1), st.acc.data(),
         static_cast<blasint>(d));
  }
  for (int64_t r = 0; r < nq; ++r) {
    C* o = O.row(b, h, i0 + r);
    const C* a = st.acc.data() + r * d;
    const bool empty = st.max[r] == kNegInf<C>;  // no visible key: out 0, lse -inf
    const C inv = empty ? C(0) : C(1) / st.sum[r];
    for (int64_t c = 0; c < d; ++c) o[c] = a[c] * inv;
    lse[i0 + r] = empty ? kNegInf<C> : st.max[r] + std::log(st.sum[r]);
  }
}

}  // namespace

template <class C>
void forward(const Tensor& q, const Tensor& k, const Tensor& v, const Visibility& vis, C scale, const Tensor& out,
             const Tensor& lse) {
  const int64_t batch = q.shape()[0], hq = q.shape()[1], tq = q.shape()[2], d = q.shape()[3];
  const int64_t group = hq / k.shape()[1];
  const int64_t tiles = (tq + kQueryTile - 1) / kQueryTile;
  const Heads<const C> Q(q), K(k), V(v);
  const Heads<C> O(out);
  C* L = static_cast<C*>(lse.raw_data());
  // Causal tiles differ in cost, hence dynamic scheduling; each task writes its own rows.
#pragma omp parallel if (batch * hq * tiles > 1)
  {
    QueryTileState<C> state(d);
#pragma omp for collapse(3) schedule(dynamic)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < hq; ++h)
        for (int64_t t = 0; t < tiles; ++t) {
          const int64_t i0 = t * kQueryTile;
          query_tile(Q, K, V, O, L + (b * hq + h) * tq, vis, scale, b, h, h / group, i0, std::min(kQueryTile, tq - i0),
                     d, state);
        }
  }
}

template void forward<float>(const Tensor&, const Tensor&, const Tensor&, const Visibility&, float, const Tensor&,
                             const Tensor&);
template void forward<double>(const Tensor&, const Tensor&, const Tensor&, const Visibility&, double, const Tensor&,
                              const Tensor&);

}  // namespace subtb::cpu::attention
