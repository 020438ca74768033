#pragma once
// How close a policy is to the target R(x) / Z, on any environment of envs/gfn; each
// metric is computed where the environment allows it and NaN elsewhere:
//  - l1, jsd: between the terminal distribution the policy induces (a dynamic program
//    over the DAG, no sampling noise) and the target, on enumerable spaces. L1
//    convention: torchgfn's sum over terminal states of |p - q|, in [0, 2]; JSD in nats;
//  - empirical_l1: the L1 between the visit frequencies of sampled terminal states and
//    the target, with its noise floor (the expected L1 of that many exact draws);
//  - log_z_true: the environment's log Z (closed form, dynamic program or enumeration);
//  - spearman: the rank correlation between log R(x) and the model's log p(x) over a test
//    set: exact log p on enumerable spaces, else the importance estimate
//      log p(x) ~ log mean_k P_F(tau_k) / P_B(tau_k | x),  tau_k ~ P_B(. | x)
//    (exact on a tree, where every x has one trajectory).
// The cumulative discoveries of a run (modes found, top-k rewards) are in discovery.h.
#include <cstdint>
#include <span>
#include <vector>

#include "envs/gfn/discrete_env.h"
#include "gflownet/policy.h"

namespace subtb::gflownet {

struct EvalOptions {
  // The Spearman test set, [T, state_dim] terminal states. Empty: every terminal state
  // where the space is enumerated, else random_test_states drawn by uniform rollouts.
  std::vector<std::int32_t> test_states;
  int64_t random_test_states = 256;
  // Backward trajectories per test state in the estimate of log p(x) (one on a tree).
  int importance_samples = 16;
  // The exact metrics run the policy on every non-terminal state; done up to this many.
  int64_t max_exact_states = int64_t{1} << 20;
  // The evaluation's own draws (random test set, backward trajectories), the same at
  // every evaluation and independent of training's.
  uint64_t seed = 0;
  // The run loop's Discovery keeps the best top_k unique objects.
  int top_k = 100;
};

struct PolicyMetrics {
  double l1 = 0;
  double empirical_l1 = 0;        // NaN without samples or without enumeration
  double empirical_l1_floor = 0;  // NaN without samples or without enumeration
  int64_t samples = 0;
  double log_z = 0;
  double log_z_true = 0;
  double jsd = 0;
  double spearman = 0;  // NaN without a test set (or a constant one)
  bool spearman_exact = false;
  int64_t test_states = 0;
  // Filled by the run loop from its Discovery (0 / NaN otherwise).
  int64_t modes_found = 0;
  int64_t num_modes = 0;
  int64_t top_k = 0;
  double top_k_reward = 0;      // mean R over the best top_k unique sampled objects
  double top_k_log_reward = 0;  // mean log R over the same
};

// [num_nonterminal_states, num_actions] P_F(. | s) of every non-terminal state, from the
// policy's logits (no exploration), 0 exactly on masked actions.
std::vector<double> forward_probabilities(const gfn::DiscreteEnv& env, Policy& policy);

// [T] the importance estimate of log p(x) for terminal states x ([T, state_dim]) with
// `samples` backward trajectories each, drawn from `gen`.
std::vector<double> estimate_log_probabilities(const gfn::DiscreteEnv& env, Policy& policy,
                                               std::span<const std::int32_t> terminal_states, int samples,
                                               Generator& gen);

// Holds what does not change during a run: the target distribution, log Z, the test set.
class PolicyEvaluator {
 public:
  explicit PolicyEvaluator(const gfn::DiscreteEnv& env, EvalOptions options = {});

  // terminal_states: [M, state_dim] sampled terminal states (M may be 0).
  PolicyMetrics evaluate(Policy& policy, double learned_log_z, std::span<const std::int32_t> terminal_states) const;

  // Whether l1, jsd and exact log-probabilities are computed.
  bool exact() const { return exact_; }
  const std::vector<double>& target() const { return target_; }  // empty unless exact()
  double log_z_true() const { return log_z_true_; }
  const std::vector<std::int32_t>& test_states() const { return test_states_; }

 private:
  const gfn::DiscreteEnv& env_;
  EvalOptions options_;
  bool exact_;
  std::vector<double> target_;
  double log_z_true_;
  std::vector<std::int32_t> test_states_;   // [T, state_dim]
  std::vector<double> test_log_rewards_;    // [T]
  std::vector<std::int64_t> test_indices_;  // [T] terminal indices, where exact()
};

}  // namespace subtb::gflownet
