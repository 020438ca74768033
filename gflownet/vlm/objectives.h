#pragma once
// GFlowVLM's objectives (Kang et al. 2025) over a batch of VLM episodes, built on the
// GFlowNet objectives of gflownet/objectives.h and the fused SubTB of gflownet/subtb.h.
//
// States carry their whole history (the prompt lists every earlier state and action), so
// each state has one parent and P_B = 1: log P_B is 0 everywhere. Every state may stop:
// [DONE] is an action in each of them, and stopping in s_t yields the object
// x = z_{0:t} [DONE] with reward R(z_{0:t} [DONE]) (the task's GFlowVLM reward of the state).
//
// Shapes (B episodes padded to S steps; episode b has n_b steps and states s_0 .. s_{n_b}):
//   log_pf:     [B, S]     log P_F of each step taken (step_log_pf: CoT-weighted token sums)
//   log_done:   [B, S + 1] log P_F([DONE] | s_t) (done_log_probs)
//   log_reward: [B, S + 1] log R(z_{0:t} [DONE]), the log-reward of stopping in s_t
//   lengths:    [B] i64    n_b in [0, S]
// Entries past an episode (t >= n_b in log_pf, t > n_b in the others) are never read and
// get zero gradient; they may hold -inf or NaN.
//
// The episode's object is x = z_{0:n} [DONE] whether the model chose [DONE] at s_n or the
// step limit or the task's rules ended it: R is defined for every state, so the exit
// probability log P_F([DONE] | s_n) always closes the trajectory (trajectory-level
// objectives include it; flow objectives build it into the flows).
#include <cstdint>
#include <string_view>

#include "gflownet/objectives.h"
#include "gflownet/subtb.h"
#include "tensor/tensor.h"

namespace subtb::gflownet::vlm {

struct EpisodeBatch {
  Tensor log_pf;      // [B, S]
  Tensor log_done;    // [B, S + 1]
  Tensor log_reward;  // [B, S + 1]
  Tensor lengths;     // [B] i64
};

// Throws naming `op` unless the batch has the shapes above and 0 <= n_b <= S.
void check_episode_batch(const char* op, const EpisodeBatch& batch);

// [B, S + 1] the steps with the exit appended: log_pf[t] for t < n_b and log_done[n_b] at
// t = n_b, a trajectory of n_b + 1 steps ending in the sink (the layout of gflownet/).
Tensor log_pf_with_exit(const EpisodeBatch& batch);

// [B] log R(x_b) = log_reward[b, n_b].
Tensor terminal_log_reward(const EpisodeBatch& batch);

// [B, S + 1] the state flows every-state-terminable GFlowNets get from the exit:
// F(s) P_F([DONE] | s) = R(s [DONE]), so log F(s_t) = log R(z_{0:t} [DONE]) - log P_F([DONE] | s_t).
Tensor done_log_flows(const EpisodeBatch& batch);

// Var-TB: zeta_b = log R(x_b) - sum_t log P_F - log P_F([DONE] | s_{n_b}) estimates log Z;
// the loss is the mean over episodes of (zeta_b - mean of zeta over its group)^2. group:
// [B] i64 task ids (episodes from the same start state share log Z), or undefined for one
// group. An episode alone in its group contributes 0.
Tensor var_tb_loss(const EpisodeBatch& batch, const Tensor& group = Tensor());

// TB with a learned log Z (a 0-d tensor, or [B] for one per episode's task):
// mean of (log Z + sum_t log P_F + log P_F([DONE] | s_{n_b}) - log R(x_b))^2.
Tensor tb_loss(const EpisodeBatch& batch, const Tensor& log_z);

// SubTB(lambda) on the [DONE] flows (fused kernel). The residual of s_i .. s_j is
//   log R(z_{0:i} DONE) - log P_F(DONE | s_i) + sum_{k=i}^{j-1} log P_F(s_{k+1} | s_k)
//     - log R(z_{0:j} DONE) + log P_F(DONE | s_j).
// Episodes with n_b = 0 have no sub-trajectory and contribute nothing.
Tensor subtb_loss(const EpisodeBatch& batch, const SubTBOptions& options = {});

// DB on the same flows: the SubTB residuals of single steps, mean over all steps of the
// batch (gflownet::modified_detailed_balance).
Tensor db_loss(const EpisodeBatch& batch, const ResidualLoss& loss = {});

enum class Objective { var_tb, tb, subtb, db };
std::string_view to_string(Objective objective);
// "var_tb" (or "vartb"), "tb", "subtb", "db"; throws listing the names.
Objective parse_objective(std::string_view name);

}  // namespace subtb::gflownet::vlm
