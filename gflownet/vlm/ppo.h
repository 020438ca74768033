#pragma once
// PPO for a VLM agent, as RL4VLM trains its baseline: generalised advantage estimation
// over a rollout, the clipped surrogate on the CoT-weighted log-probability of each step
// (step_log_pf: action tokens + lambda_cot * CoT tokens, the same log-probabilities the
// GFlowNet objectives use), and a value loss on a value head's predictions.
//
// Rollout layout: E environments stepped T times, time along dim 1. A step's `done` means
// the episode ended with it (by the task, [DONE], or the step limit), so no value flows
// back across it; the environment was then reset and step t + 1 starts a new episode.
#include <cstdint>

#include "tensor/tensor.h"

namespace subtb::gflownet::vlm {

struct GaeOptions {
  double gamma = 0.9;    // discount (RL4VLM)
  double lambda = 0.95;  // GAE's lambda (RL4VLM)
};

struct Advantages {
  Tensor advantages;  // [E, T]
  Tensor returns;     // [E, T] advantages + values: the value head's regression targets
};

// rewards, values: [E, T] floating; dones: [E, T] bool; next_values: [E], the value of the
// state after the last step (ignored where that step is done). Backwards in t:
//   delta_t = r_t + gamma * V_{t+1} * (1 - done_t) - V_t
//   A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}
// with V_T = next_values. Computed in f64 on the host (the inputs are data, not graph) and
// returned in rewards' dtype and device, without gradient.
Advantages generalized_advantages(const Tensor& rewards, const Tensor& values, const Tensor& dones,
                                  const Tensor& next_values, const GaeOptions& options = {});

// (A - mean A) / (std A + eps), std with Bessel's correction (as RL4VLM's PPO); any shape.
Tensor normalize_advantages(const Tensor& advantages, double eps = 1e-5);

struct PpoOptions {
  double clip = 0.1;        // ratio clip epsilon (RL4VLM)
  double value_clip = 0.0;  // > 0: clip the value prediction's move from old_values by it
  double value_coef = 0.5;  // weight of the value loss in the total
};

// Clipped surrogate, every argument [N] (one entry per step):
//   rho = exp(log_prob - old_log_prob),  loss = -mean min(rho A, clip(rho, 1 - c, 1 + c) A).
// Differentiable in log_prob; old_log_prob and advantages are treated as constants.
Tensor ppo_policy_loss(const Tensor& log_prob, const Tensor& old_log_prob, const Tensor& advantages, double clip = 0.1);

// 0.5 * mean (V - R)^2, or with value_clip > 0 the pessimistic clipped form
// 0.5 * mean max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2). [N] each.
Tensor ppo_value_loss(const Tensor& values, const Tensor& old_values, const Tensor& returns, double value_clip = 0.0);

struct PpoLoss {
  Tensor total;          // policy + value_coef * value
  Tensor policy;         // ppo_policy_loss
  Tensor value;          // ppo_value_loss
  Tensor clip_fraction;  // share of steps whose ratio left [1 - c, 1 + c] (no gradient)
  Tensor approx_kl;      // mean(old_log_prob - log_prob), an estimate of KL(old || new) (no gradient)
};

PpoLoss ppo_loss(const Tensor& log_prob, const Tensor& old_log_prob, const Tensor& advantages, const Tensor& values,
                 const Tensor& old_values, const Tensor& returns, const PpoOptions& options = {});

}  // namespace subtb::gflownet::vlm
