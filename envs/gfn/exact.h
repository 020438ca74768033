#pragma once
// Exact quantities of enumerable environments: every terminal state with its log-reward,
// log Z, the target distribution R(x) / Z, the terminal distribution a given forward
// policy induces (a dynamic program over the DAG, no sampling noise), and the empirical
// distribution of sampled terminal states. All distributions are indexed by
// DiscreteEnv::terminal_index.
#include <cstdint>
#include <span>
#include <vector>

#include "envs/gfn/discrete_env.h"

namespace subtb::gfn {

// Enumerations beyond this many states throw rather than exhaust memory.
inline constexpr std::int64_t max_enumerated_states = std::int64_t{1} << 26;

struct TerminalEnumeration {
  std::vector<std::int32_t> states;  // [N, state_dim] in terminal-index order
  std::vector<double> log_rewards;   // [N]
};

TerminalEnumeration enumerate_terminal_states(const DiscreteEnv& env);

// log sum_x R(x) over the enumerated terminal states.
double log_partition_by_enumeration(const DiscreteEnv& env);

// [N] R(x) / Z.
std::vector<double> target_distribution(const DiscreteEnv& env);

// [N] the probability that a trajectory sampled from P_F ends in each terminal state.
// forward_probs: [num_nonterminal_states, num_actions], row i = P_F(. | nonterminal_state(i)).
// Rows should sum to 1 over the allowed actions; mass on a masked action throws.
std::vector<double> policy_terminal_distribution(const DiscreteEnv& env, std::span<const double> forward_probs);

// [N] visit frequencies of `terminal_states` ([M, state_dim]); all zero when M = 0.
std::vector<double> empirical_distribution(const DiscreteEnv& env, std::span<const std::int32_t> terminal_states);

}  // namespace subtb::gfn
