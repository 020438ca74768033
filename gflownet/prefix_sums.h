#pragma once
// Log-flow prefix sums: scans over a padded batch of trajectories with per-row lengths,
// the building block of every sub-trajectory objective (the cumulative log P_F - log P_B
// of SubTB, cumulative log-rewards, running log-partition estimates).
//
//   x:       [B, L]  values of each step; entries at t >= lengths[b] are ignored
//   lengths: [B] i64 in [0, L]
//   result:  [B, L]  inclusive scan of each row's first lengths[b] entries; past them the
//                    scan's identity (0 for cumsum, -inf for logcumsumexp)
#include "tensor/tensor.h"

namespace subtb::gflownet {

Tensor segmented_cumsum(const Tensor& x, const Tensor& lengths);
// log sum_{k <= t} exp(x[k]), exact at -inf: an all -inf prefix stays -inf with zero
// gradient, and no NaN appears in values or gradients.
Tensor segmented_logcumsumexp(const Tensor& x, const Tensor& lengths);

}  // namespace subtb::gflownet
