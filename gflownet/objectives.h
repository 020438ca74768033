#pragma once
// The GFlowNet training objectives as differentiable functions of a padded batch of
// trajectories and the model's outputs (../shared/reference/gflownet.md has the formulas).
//
// The padded layout every objective shares (B trajectories of up to L steps):
//   log_pf, log_pb:   [B, L]     log P_F / log P_B of the steps taken (log P_B of an exit step is 0);
//                                entries at t >= lengths[b] are ignored (may hold -inf or NaN)
//   log_flow:         [B, L + 1] log F(s_t), with log_flow[b, lengths[b]] = log R(x_b) (flow objectives)
//   log_reward:       [B]        log R(x_b) of the terminal object (TB, Var-TB)
//   log_reward_states:[B, L + 1] log R(s_t) of every visited state (FL objectives, modified DB)
//   lengths:          [B] i64    steps in each trajectory, counting the exit step if there is one
// SubTB(lambda) and its weightings live in gflownet/subtb.h (a fused primitive).
#include "gflownet/subtb.h"
#include "tensor/tensor.h"

namespace subtb::gflownet {

// How a residual d becomes a loss term. Squared is the default everywhere.
struct ResidualLoss {
  enum class Kind { squared, absolute, huber };
  Kind kind = Kind::squared;
  double huber_delta = 1.0;  // huber: d^2 / 2 below delta, delta (|d| - delta / 2) above
};
Tensor apply_residual_loss(const Tensor& residual, const ResidualLoss& loss);

// [B, L] bool: step t of row b is inside the trajectory (t < lengths[b]).
Tensor step_mask(const Tensor& lengths, int64_t L);

// Trajectory balance: mean over trajectories of loss(log Z + sum log P_F - sum log P_B - log R).
// log_z: a 0-d tensor (learned scalar) or [B] (conditional log Z).
Tensor trajectory_balance(const Tensor& log_pf, const Tensor& log_pb, const Tensor& lengths,
                          const Tensor& log_reward, const Tensor& log_z, const ResidualLoss& loss = {});

// Variance TB (ZVar / VarGrad): zeta_b = log R - sum log P_F + sum log P_B estimates log Z;
// the loss is the mean of (zeta_b - mean zeta)^2 over the batch (population variance).
Tensor variance_trajectory_balance(const Tensor& log_pf, const Tensor& log_pb, const Tensor& lengths,
                                   const Tensor& log_reward);

// Reductions of per-transition losses: torchgfn averages over every transition of the
// batch (the default); recursionpharma's gflownet sums per trajectory, then averages.
enum class TransitionReduction { transition_mean, trajectory_sum_mean };

// Detailed balance over every transition s_t -> s_{t+1}, t < lengths[b]:
//   d = log F(s_t) + log P_F - log F(s_{t+1}) - log P_B
// where the last flow is log R(x) (log_flow's terminal entry). With log_reward_states
// defined this is forward-looking DB: log F(s) = log F~(s) + log R(s) for every
// non-terminal state, so the exit residual is log F~(x) + log P_F(stop | x).
Tensor detailed_balance(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& lengths,
                        TransitionReduction reduction = TransitionReduction::transition_mean,
                        const ResidualLoss& loss = {}, const Tensor& log_reward_states = Tensor());

// Modified DB (Deleu et al. 2022; every state may terminate, no flow network), over the
// non-exit transitions t < lengths[b]:
//   d = log R(s) + log P_F(s'|s) + log P_F(stop|s') - log R(s') - log P_B(s|s') - log P_F(stop|s)
// log_pf_stop: [B, L + 1] log P_F(stop | s_t). Mean over transitions.
Tensor modified_detailed_balance(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_pf_stop,
                                 const Tensor& log_reward_states, const Tensor& lengths,
                                 const ResidualLoss& loss = {});

// Flow matching over edge flows. For N non-initial states: log_inflows [N, P] (the flows
// of the edges from each parent, -inf padded) and log_outflows [N, A] (the flows of the
// state's outgoing edges including exit, -inf where masked); for M terminating states:
// log_exit_flows [M] and log_rewards [M]. Loss = mean_N loss(logsumexp(in) -
// logsumexp(out)) + mean_M loss(log F(x, exit) - log R(x)); an empty part contributes 0.
Tensor flow_matching(const Tensor& log_inflows, const Tensor& log_outflows, const Tensor& log_exit_flows,
                     const Tensor& log_rewards, const ResidualLoss& loss = {});

// SubTB(lambda) built from simple ops with an explicit [B, L+1, L+1] residual matrix: the
// fallback and test oracle of the fused subtb_loss, and the path for residual losses
// other than squared. Same arguments, weightings and reductions as subtb_loss. Unlike
// the fused kernel it cannot separate a -inf step from the residuals that do not cross
// it (they become NaN), so keep log-probabilities within trajectories finite.
Tensor subtb_loss_composite(const Tensor& log_pf, const Tensor& log_pb, const Tensor& log_flow, const Tensor& lengths,
                            const SubTBOptions& options = {}, const Tensor& log_reward_states = Tensor(),
                            const ResidualLoss& loss = {});

}  // namespace subtb::gflownet
