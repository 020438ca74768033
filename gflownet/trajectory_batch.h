#pragma once
// A batch of B trajectories padded to L steps (L + 1 states), the one container every
// sampler fills and every objective reads. It serves tree-shaped spaces (log P_B = 0),
// DAGs, trajectories that end with an exit action or at a fixed length, and incomplete
// trajectories (no terminal reward) where the objective allows them (DB, SubTB, FL).
//
// Every field is optional except lengths; validate() checks the ones that are set.
#include <string>

#include "tensor/tensor.h"

namespace subtb::gflownet {

struct TrajectoryBatch {
  Tensor states;             // [B, L + 1, ...] the environment's encoding of s_0 .. s_L
  Tensor actions;            // [B, L] i64 action ids, -1 past the end
  Tensor forward_masks;      // [B, L + 1, A] bool: actions allowed in each state
  Tensor backward_masks;     // [B, L + 1, A_b] bool: backward actions allowed in each state
  Tensor lengths;            // [B] i64 steps, counting the exit step when there is one
  Tensor is_exit;            // [B, L] bool: step t is the exit action
  Tensor log_pf;             // [B, L] log P_F of the steps taken
  Tensor log_pb;             // [B, L] log P_B of the steps taken (0 for exit steps and trees)
  Tensor log_flow;           // [B, L + 1] log F(s_t) from the model (entry n_b: the model's, see below)
  Tensor log_reward;         // [B] log R(x) of the terminal object (ignored where !complete)
  Tensor log_reward_states;  // [B, L + 1] log R(s_t) of every state (forward-looking objectives)
  Tensor log_pf_exit;        // [B, L + 1] log P_F(exit | s_t) (modified DB; -inf where exit is masked)
  Tensor complete;           // [B] bool: the trajectory reached a terminal state (all, when unset)

  int64_t batch_size() const { return lengths.shape()[0]; }
  int64_t max_length() const;  // L, from the first defined step or state field

  // Checks every defined field's shape and dtype against B and L and that lengths lie in
  // [0, L]; throws naming the field, what it should be and what it is.
  void validate() const;

  // log_flow with the entry of each complete trajectory's last state replaced by log R(x):
  // the layout subtb_loss and detailed_balance expect. Incomplete trajectories keep the
  // model's log F there, so their residuals constrain only what was observed.
  // Differentiable with respect to log_flow and log_reward.
  Tensor log_flow_with_terminal_reward() const;
};

}  // namespace subtb::gflownet
