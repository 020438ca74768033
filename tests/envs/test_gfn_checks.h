#pragma once
// Checks every GFlowNet environment must pass, shared by the per-environment tests:
// random rollouts whose forward and backward moves, masks and parents agree, and on
// enumerable spaces the exact-flow oracle (P_F built from exact flows and the uniform P_B
// must induce exactly R(x) / Z, and F(s_0) must equal Z).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/gfn/discrete_env.h"
#include "envs/gfn/exact.h"
#include "envs/gfn/rng.h"
#include "tensor/error.h"

// Asserts that `stmt` throws subtb::Error whose message contains `part`.
#define EXPECT_GFN_THROW(stmt, part)                                                              \
  do {                                                                                            \
    bool gfn_thrown_ = false;                                                                     \
    try {                                                                                         \
      stmt;                                                                                       \
    } catch (const ::subtb::Error& e) {                                                           \
      gfn_thrown_ = true;                                                                         \
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)                              \
          << "message \"" << e.what() << "\" lacks \"" << (part) << "\"";                           \
    }                                                                                             \
    EXPECT_TRUE(gfn_thrown_) << #stmt " did not throw subtb::Error";                              \
  } while (0)

namespace subtb::gfn::testing {

// A uniformly random allowed action from a mask row, or no_action when none is allowed.
inline std::int32_t random_allowed(const bool* mask, int n, Rng& rng) {
  const int allowed = static_cast<int>(std::count(mask, mask + n, true));
  if (allowed == 0) return DiscreteEnv::no_action;
  int pick = static_cast<int>(rng.below(static_cast<std::uint32_t>(allowed)));
  for (int a = 0; a < n; ++a) {
    if (mask[a] && pick-- == 0) return a;
  }
  return DiscreteEnv::no_action;
}

// Rolls `batch` trajectories forward with random allowed actions. At every step: the
// parents of each new state contain the old state with the action taken, their number is
// the number of allowed backward actions, and each parent steps forward into the state.
// Then walks every terminal state back to s_0 with random backward actions in exactly
// as many steps as the forward trajectory took (all these DAGs are graded).
inline void check_random_rollouts(const DiscreteEnv& env, int batch, std::uint64_t seed) {
  const int dim = env.state_dim(), num_actions = env.num_actions(), num_backward = env.num_backward_actions();
  Rng rng(seed);
  std::vector<std::int32_t> states(static_cast<std::size_t>(batch * dim)), before, s0(static_cast<std::size_t>(dim));
  std::vector<std::int32_t> actions(static_cast<std::size_t>(batch));
  std::vector<int> lengths(static_cast<std::size_t>(batch), 0);
  std::unique_ptr<bool[]> masks(new bool[static_cast<std::size_t>(batch * std::max(num_actions, num_backward))]);
  std::unique_ptr<bool[]> terminal(new bool[static_cast<std::size_t>(batch)]);
  ParentList parents;
  env.reset(states);
  env.reset(s0);

  for (int t = 0;; ++t) {
    env.is_terminal(states, std::span<bool>(terminal.get(), static_cast<std::size_t>(batch)));
    if (std::all_of(terminal.get(), terminal.get() + batch, [](bool b) { return b; })) break;
    ASSERT_LT(t, env.max_trajectory_length()) << env.name() << ": a trajectory outgrew max_trajectory_length";
    env.forward_masks(states, std::span<bool>(masks.get(), static_cast<std::size_t>(batch * num_actions)));
    for (int b = 0; b < batch; ++b) {
      const bool* row = masks.get() + b * num_actions;
      actions[static_cast<std::size_t>(b)] = random_allowed(row, num_actions, rng);
      // Terminal states allow nothing; every other state allows something.
      ASSERT_EQ(terminal[b], actions[static_cast<std::size_t>(b)] == DiscreteEnv::no_action) << env.name();
      if (!terminal[b]) ++lengths[static_cast<std::size_t>(b)];
    }
    before = states;
    env.step(states, actions);
    env.parents(states, parents);
    env.backward_masks(states, std::span<bool>(masks.get(), static_cast<std::size_t>(batch * num_backward)));
    for (int b = 0; b < batch; ++b) {
      if (actions[static_cast<std::size_t>(b)] == DiscreteEnv::no_action) continue;
      const std::int32_t* state = &states[static_cast<std::size_t>(b * dim)];
      const std::int32_t* old = &before[static_cast<std::size_t>(b * dim)];
      const bool* row = masks.get() + b * num_backward;
      ASSERT_EQ(parents.count(b), std::count(row, row + num_backward, true)) << env.name();
      bool found = false;
      for (std::int64_t p = parents.offsets[static_cast<std::size_t>(b)];
           p < parents.offsets[static_cast<std::size_t>(b + 1)]; ++p) {
        std::vector<std::int32_t> parent(&parents.states[static_cast<std::size_t>(p * dim)],
                                         &parents.states[static_cast<std::size_t>((p + 1) * dim)]);
        const std::int32_t a = parents.actions[static_cast<std::size_t>(p)];
        found |= std::equal(parent.begin(), parent.end(), old) && a == actions[static_cast<std::size_t>(b)];
        env.step(parent, std::span<const std::int32_t>(&a, 1));
        ASSERT_TRUE(std::equal(parent.begin(), parent.end(), state)) << env.name() << ": parent does not step back";
      }
      ASSERT_TRUE(found) << env.name() << ": the state it came from is not among its parents";
    }
  }

  // Backward from the terminal states.
  for (int t = 0;; ++t) {
    env.backward_masks(states, std::span<bool>(masks.get(), static_cast<std::size_t>(batch * num_backward)));
    bool any = false;
    for (int b = 0; b < batch; ++b) {
      actions[static_cast<std::size_t>(b)] = random_allowed(masks.get() + b * num_backward, num_backward, rng);
      if (actions[static_cast<std::size_t>(b)] != DiscreteEnv::no_action) {
        any = true;
        ASSERT_LT(t, lengths[static_cast<std::size_t>(b)]) << env.name() << ": backward walk longer than forward";
      } else if (t <= lengths[static_cast<std::size_t>(b)]) {  // the walk ends here
        ASSERT_EQ(t, lengths[static_cast<std::size_t>(b)]) << env.name() << ": backward walk ended early";
        ASSERT_TRUE(std::equal(s0.begin(), s0.end(), &states[static_cast<std::size_t>(b * dim)]))
            << env.name() << ": a state without parents is not s_0";
      }
    }
    if (!any) break;
    env.backward_step(states, actions);
  }
}

// Exact flows under the uniform P_B, from the terminal states down to s_0:
// F(s) = sum over children c of F(c) / parents(c), with F(x) = R(x) at terminal x.
// The policy P_F(c | s) = F(c) / (parents(c) F(s)) must then sample exactly R(x) / Z.
inline void check_exact_flow_oracle(const DiscreteEnv& env) {
  const std::int64_t n = env.num_nonterminal_states();
  ASSERT_GE(n, 1) << env.name();
  const int dim = env.state_dim(), num_actions = env.num_actions(), num_backward = env.num_backward_actions();
  std::vector<double> log_flow(static_cast<std::size_t>(n));
  std::vector<double> probs(static_cast<std::size_t>(n * num_actions), 0.0);
  std::vector<std::int32_t> state(static_cast<std::size_t>(dim)), child;
  std::unique_ptr<bool[]> mask(new bool[static_cast<std::size_t>(num_actions)]);
  std::unique_ptr<bool[]> back(new bool[static_cast<std::size_t>(num_backward)]);
  bool terminal = false;
  double log_r = 0;
  for (std::int64_t i = n - 1; i >= 0; --i) {
    env.nonterminal_state(i, state.data());
    ASSERT_EQ(env.nonterminal_index(state.data()), i) << env.name();
    env.forward_masks(state, std::span<bool>(mask.get(), static_cast<std::size_t>(num_actions)));
    std::vector<double> edge(static_cast<std::size_t>(num_actions), -INFINITY);
    for (std::int32_t a = 0; a < num_actions; ++a) {
      if (!mask[static_cast<std::size_t>(a)]) continue;
      child = state;
      env.step(child, std::span<const std::int32_t>(&a, 1));
      env.is_terminal(child, std::span<bool>(&terminal, 1));
      env.backward_masks(child, std::span<bool>(back.get(), static_cast<std::size_t>(num_backward)));
      const double log_parents = std::log(static_cast<double>(std::count(back.get(), back.get() + num_backward, true)));
      double log_child;
      if (terminal) {
        env.log_reward(child, std::span<double>(&log_r, 1));
        log_child = log_r;
      } else {
        const std::int64_t c = env.nonterminal_index(child.data());
        ASSERT_GT(c, i) << env.name() << ": the non-terminal order is not topological";
        log_child = log_flow[static_cast<std::size_t>(c)];
      }
      edge[static_cast<std::size_t>(a)] = log_child - log_parents;
    }
    double hi = -INFINITY, sum = 0;
    for (double e : edge) hi = std::max(hi, e);
    for (double e : edge) sum += std::exp(e - hi);
    log_flow[static_cast<std::size_t>(i)] = hi + std::log(sum);
    for (int a = 0; a < num_actions; ++a) {
      probs[static_cast<std::size_t>(i * num_actions + a)] =
          std::exp(edge[static_cast<std::size_t>(a)] - log_flow[static_cast<std::size_t>(i)]);
    }
  }
  env.reset(state);
  EXPECT_NEAR(log_flow[static_cast<std::size_t>(env.nonterminal_index(state.data()))], env.log_partition(), 1e-10)
      << env.name();
  const std::vector<double> induced = policy_terminal_distribution(env, probs);
  const std::vector<double> target = target_distribution(env);
  ASSERT_EQ(induced.size(), target.size());
  for (std::size_t x = 0; x < target.size(); ++x) {
    ASSERT_NEAR(induced[x], target[x], 1e-12 * target[x]) << env.name() << " terminal " << x;
  }
}

// Indices round-trip: index -> state -> index, for every terminal and non-terminal state.
inline void check_index_round_trip(const DiscreteEnv& env) {
  std::vector<std::int32_t> state(static_cast<std::size_t>(env.state_dim()));
  bool terminal = false;
  for (std::int64_t i = 0; i < env.num_terminal_states(); ++i) {
    env.terminal_state(i, state.data());
    env.is_terminal(state, std::span<bool>(&terminal, 1));
    ASSERT_TRUE(terminal) << env.name() << " terminal " << i;
    ASSERT_EQ(env.terminal_index(state.data()), i) << env.name();
  }
  for (std::int64_t i = 0; i < env.num_nonterminal_states(); ++i) {
    env.nonterminal_state(i, state.data());
    env.is_terminal(state, std::span<bool>(&terminal, 1));
    ASSERT_FALSE(terminal) << env.name() << " non-terminal " << i;
    ASSERT_EQ(env.nonterminal_index(state.data()), i) << env.name();
  }
}

}  // namespace subtb::gfn::testing
