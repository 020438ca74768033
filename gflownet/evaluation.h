#pragma once
// How close a policy is to the target R(x) / Z on an enumerable environment:
//  - l1: the exact L1 between the terminal distribution the policy induces (a dynamic
//    program over the DAG, no sampling noise) and the target;
//  - empirical_l1: the L1 between the visit frequencies of sampled terminal states and
//    the target, with its noise floor (the expected L1 of that many exact draws);
//  - |learned log Z - true log Z|.
// L1 convention: torchgfn's sum over terminal states of |p - q|, in [0, 2].
#include <cstdint>
#include <span>
#include <vector>

#include "envs/gfn/discrete_env.h"
#include "gflownet/policy.h"

namespace subtb::gflownet {

struct PolicyMetrics {
  double l1 = 0;
  double empirical_l1 = 0;        // NaN without samples
  double empirical_l1_floor = 0;  // NaN without samples
  int64_t samples = 0;
  double log_z = 0;
  double log_z_true = 0;
};

// [num_nonterminal_states, num_actions] P_F(. | s) of every non-terminal state, from the
// policy's logits (no exploration), 0 exactly on masked actions.
std::vector<double> forward_probabilities(const gfn::DiscreteEnv& env, Policy& policy);

// Holds what does not change during a run: the target distribution, log Z and the
// encoded non-terminal states. Throws for an environment it cannot enumerate.
class PolicyEvaluator {
 public:
  explicit PolicyEvaluator(const gfn::DiscreteEnv& env);

  // terminal_states: [M, state_dim] sampled terminal states (M may be 0).
  PolicyMetrics evaluate(Policy& policy, double learned_log_z, std::span<const std::int32_t> terminal_states) const;

  const std::vector<double>& target() const { return target_; }
  double log_z_true() const { return log_z_true_; }

 private:
  const gfn::DiscreteEnv& env_;
  std::vector<double> target_;
  double log_z_true_;
};

}  // namespace subtb::gflownet
