#pragma once
// Sub-trajectory balance, SubTB(lambda) (Madan et al. 2023), as one fused primitive.
//
// For a trajectory s_0 -> ... -> s_n (the last step may be the exit to the sink) and a
// sub-trajectory s_i .. s_j (0 <= i < j <= n), the residual is
//   d(i, j) = log F(s_i) + sum_{k=i}^{j-1} [log P_F(s_{k+1}|s_k) - log P_B(s_k|s_{k+1})] - log F(s_j)
// with log F(s_n) replaced by log R(x). With the prefix sums C[t] = sum_{k<t} (log P_F -
// log P_B) it is log F[i] - C[i] - (log F[j] - C[j]): all n(n+1)/2 residuals come from
// 2n numbers, and the fused kernel (kernels/*/subtb) computes the weighted loss and its
// gradients from them in O(n) per trajectory, without an L x L buffer.
//
// Shapes (B trajectories padded to L steps):
//   log_pf, log_pb: [B, L]     log-probabilities of the steps taken; entries at t >= lengths[b] are ignored
//   log_flow:       [B, L + 1] log F of the visited states, with log_flow[b, lengths[b]] = log R(x_b)
//   lengths:        [B] i64    number of steps n_b in [0, L] (0: a padding row, contributes nothing)
//   log_reward:     [B, L + 1] optional intermediate log-rewards (forward-looking SubTB): the
//                              flow of a non-terminal state is then log_flow + log_reward
#include <string_view>

#include "tensor/tensor.h"

namespace subtb::gflownet {

// How sub-trajectories are weighted (the weightings found in the public libraries).
enum class SubTBWeighting {
  geometric_within,  // paper default: lambda^(k-1) / sum of the row's weights, k = j - i; mean over rows
  equal_within,      // 2 / (n (n + 1)) (geometric_within at lambda = 1); mean over rows
  equal,             // every sub-trajectory of the batch weighted the same
  geometric,         // mean loss of each length k over the batch, mixed with (1-lambda) lambda^(k-1) / (1-lambda^L_max)
  tb,                // the whole trajectory only: trajectory balance with log Z := log F(s_0); mean over rows
  db,                // single transitions only: detailed balance; mean over all transitions of the batch
};

std::string_view to_string(SubTBWeighting w);
// Parses the names above; throws listing the valid names.
SubTBWeighting parse_subtb_weighting(std::string_view name);

struct SubTBOptions {
  double lambda = 0.9;  // >= 0; lambda -> 0 tends to DB, lambda -> inf to TB
  SubTBWeighting weighting = SubTBWeighting::geometric_within;
};

// The per-trajectory weighted sums of squared residuals [B] under `options` (before the
// batch reduction), differentiable with respect to log_pf, log_pb and log_flow. Rows of
// length 0 give 0.
Tensor subtb_trajectory_losses(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow,
                               const Tensor& lengths, const SubTBOptions& options = {},
                               const Tensor& log_reward = Tensor());

// The batch loss (a scalar) with the weighting's reduction (see SubTBWeighting).
Tensor subtb_loss(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& lengths,
                  const SubTBOptions& options = {}, const Tensor& log_reward = Tensor());

}  // namespace subtb::gflownet
