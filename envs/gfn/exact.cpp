#include "envs/gfn/exact.h"

#include <cmath>
#include <memory>

#include "envs/gfn/log_space.h"
#include "tensor/error.h"

namespace subtb::gfn {

namespace {

std::int64_t checked_count(const DiscreteEnv& env, std::int64_t count, const char* call, const char* what) {
  SUBTB_CHECK(count >= 0, env.name(), " ", call, ": the ", what, " states are not enumerable");
  SUBTB_CHECK(count <= max_enumerated_states, env.name(), " ", call, ": ", count, " ", what,
              " states exceed the enumeration limit of ", max_enumerated_states);
  return count;
}

}  // namespace

TerminalEnumeration enumerate_terminal_states(const DiscreteEnv& env) {
  const std::int64_t n = checked_count(env, env.num_terminal_states(), "enumerate_terminal_states", "terminal");
  const std::size_t dim = static_cast<std::size_t>(env.state_dim());
  TerminalEnumeration result;
  result.states.resize(static_cast<std::size_t>(n) * dim);
  result.log_rewards.resize(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) env.terminal_state(i, result.states.data() + static_cast<std::size_t>(i) * dim);
  env.log_reward(result.states, result.log_rewards);
  return result;
}

double log_partition_by_enumeration(const DiscreteEnv& env) {
  return log_sum_exp(enumerate_terminal_states(env).log_rewards);
}

std::vector<double> target_distribution(const DiscreteEnv& env) {
  std::vector<double> p = enumerate_terminal_states(env).log_rewards;
  const double log_z = log_sum_exp(p);
  for (double& v : p) v = std::exp(v - log_z);
  return p;
}

// Flows are pushed through the non-terminal states in index order, which is topological,
// so every state's inflow is complete before its outflow is distributed.
std::vector<double> policy_terminal_distribution(const DiscreteEnv& env, std::span<const double> forward_probs) {
  const std::int64_t num_states =
      checked_count(env, env.num_nonterminal_states(), "policy_terminal_distribution", "non-terminal");
  const std::int64_t num_terminal =
      checked_count(env, env.num_terminal_states(), "policy_terminal_distribution", "terminal");
  const std::size_t num_actions = static_cast<std::size_t>(env.num_actions());
  SUBTB_CHECK(forward_probs.size() == static_cast<std::size_t>(num_states) * num_actions, env.name(),
              " policy_terminal_distribution: forward_probs holds ", forward_probs.size(), " values, expected [",
              num_states, ", ", num_actions, "]");
  const std::size_t dim = static_cast<std::size_t>(env.state_dim());
  std::vector<std::int32_t> state(dim), child(dim), start(dim);
  std::unique_ptr<bool[]> mask(new bool[num_actions]);
  bool terminal = false;

  std::vector<double> flow(static_cast<std::size_t>(num_states), 0.0);
  std::vector<double> out(static_cast<std::size_t>(num_terminal), 0.0);
  env.reset(start);
  flow[static_cast<std::size_t>(env.nonterminal_index(start.data()))] = 1.0;
  for (std::int64_t i = 0; i < num_states; ++i) {
    const double f = flow[static_cast<std::size_t>(i)];
    if (f == 0.0) continue;
    env.nonterminal_state(i, state.data());
    env.forward_masks(state, std::span<bool>(mask.get(), num_actions));
    const double* probs = forward_probs.data() + static_cast<std::size_t>(i) * num_actions;
    for (std::size_t a = 0; a < num_actions; ++a) {
      if (!mask[a]) {
        SUBTB_CHECK(probs[a] == 0.0, env.name(), " policy_terminal_distribution: state ", i,
                    " puts probability ", probs[a], " on masked action ", a);
        continue;
      }
      if (probs[a] == 0.0) continue;
      child = state;
      const std::int32_t action = static_cast<std::int32_t>(a);
      env.step(child, std::span<const std::int32_t>(&action, 1));
      env.is_terminal(child, std::span<bool>(&terminal, 1));
      if (terminal) {
        out[static_cast<std::size_t>(env.terminal_index(child.data()))] += f * probs[a];
      } else {
        flow[static_cast<std::size_t>(env.nonterminal_index(child.data()))] += f * probs[a];
      }
    }
  }
  return out;
}

std::vector<double> empirical_distribution(const DiscreteEnv& env, std::span<const std::int32_t> terminal_states) {
  const std::int64_t num_terminal =
      checked_count(env, env.num_terminal_states(), "empirical_distribution", "terminal");
  const std::size_t dim = static_cast<std::size_t>(env.state_dim());
  SUBTB_CHECK(terminal_states.size() % dim == 0, env.name(), " empirical_distribution: ", terminal_states.size(),
              " state values is not a whole number of states of ", dim);
  const std::size_t samples = terminal_states.size() / dim;
  std::vector<double> p(static_cast<std::size_t>(num_terminal), 0.0);
  for (std::size_t s = 0; s < samples; ++s) p[static_cast<std::size_t>(env.terminal_index(&terminal_states[s * dim]))] += 1.0;
  if (samples > 0) {
    for (double& v : p) v /= static_cast<double>(samples);
  }
  return p;
}

}  // namespace subtb::gfn
