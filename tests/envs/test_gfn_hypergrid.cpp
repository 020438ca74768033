// HyperGrid: the reference's log Z values, the reward bands and modes, both MDPs'
// dynamics, and the exact machinery (enumeration, flows, the policy-induced distribution).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "envs/gfn/exact.h"
#include "envs/gfn/hypergrid.h"
#include "tensor/error.h"
#include "tests/envs/test_gfn_checks.h"

namespace subtb::gfn {
namespace {

HyperGrid grid(int dim, int height, double r0, HyperGridMdp mdp = HyperGridMdp::torchgfn) {
  return HyperGrid(HyperGridConfig{.dim = dim, .height = height, .r0 = r0, .mdp = mdp});
}

// torchgfn's reward written as the reference states it, in floating point: an
// independent check of the integer band tests (H = 8, 12, 64 have no ties at the edges).
double reference_reward(const std::vector<int>& x, int height, double r0) {
  bool outer = true, inner = true;
  for (int v : x) {
    const double ax = std::abs(static_cast<double>(v) / (height - 1) - 0.5);
    outer &= 0.25 < ax;
    inner &= 0.3 < ax && ax < 0.4;
  }
  return r0 + 0.5 * outer + 2.0 * inner;
}

struct LogZCase {
  int dim, height;
  double r0, log_z;
};

TEST(HyperGrid, LogPartitionMatchesTheReference) {
  const LogZCase cases[] = {{2, 8, 0.1, 3.10906},  {4, 8, 0.1, 6.34493},   {4, 8, 1e-3, 5.10045},
                            {2, 64, 0.1, 7.09805}, {4, 12, 1e-3, 6.55213}, {4, 12, 1e-4, 6.52514},
                            {2, 12, 1e-3, 3.26362}};
  for (const LogZCase& c : cases) {
    const HyperGrid env = grid(c.dim, c.height, c.r0);
    // Printed to 5 decimals: agreement to half a unit in the last place.
    EXPECT_NEAR(env.log_partition(), c.log_z, 5e-6) << env.name();
    // The closed form against brute-force enumeration with the floating-point reward.
    double z = 0;
    const TerminalEnumeration all = enumerate_terminal_states(env);
    for (std::size_t i = 0; i < all.log_rewards.size(); ++i) {
      const std::vector<int> x(&all.states[i * env.state_dim()], &all.states[i * env.state_dim()] + c.dim);
      ASSERT_DOUBLE_EQ(all.log_rewards[i], std::log(reference_reward(x, c.height, c.r0))) << env.name();
      z += reference_reward(x, c.height, c.r0);
    }
    EXPECT_NEAR(env.log_partition(), std::log(z), 1e-12) << env.name();
    EXPECT_NEAR(log_partition_by_enumeration(env), std::log(z), 1e-12) << env.name();
  }
}

TEST(HyperGrid, OriginalMdpLogPartitionSumsOverReachablePoints) {
  for (const auto& [dim, height, r0] : {std::tuple{2, 8, 0.1}, std::tuple{3, 8, 1e-3}, std::tuple{4, 12, 1e-4},
                                        std::tuple{1, 5, 0.1}, std::tuple{3, 2, 0.1}}) {
    const HyperGrid env = grid(dim, height, r0, HyperGridMdp::original_2021);
    const std::int64_t edge = height - 1;
    EXPECT_EQ(env.num_terminal_states(),
              static_cast<std::int64_t>(std::pow(edge, dim) + dim * std::pow(edge, dim - 1)));
    // Brute force over the full grid, keeping points with at most one coordinate at H-1.
    const HyperGrid full = grid(dim, height, r0);
    const TerminalEnumeration all = enumerate_terminal_states(full);
    double z = 0;
    for (std::size_t i = 0; i < all.log_rewards.size(); ++i) {
      const std::int32_t* x = &all.states[i * full.state_dim()];
      if (std::count(x, x + dim, static_cast<std::int32_t>(edge)) <= 1) z += std::exp(all.log_rewards[i]);
    }
    EXPECT_NEAR(env.log_partition(), std::log(z), 1e-12) << env.name();
    EXPECT_NEAR(log_partition_by_enumeration(env), std::log(z), 1e-12) << env.name();
  }
}

TEST(HyperGrid, ModesAreTheInnerBand) {
  EXPECT_EQ(grid(2, 8, 0.1).mode_coordinates(), (std::vector<int>{1, 6}));
  EXPECT_EQ(grid(4, 12, 0.1).mode_coordinates(), (std::vector<int>{2, 9}));
  const HyperGrid env = grid(3, 8, 0.1);
  EXPECT_EQ(env.num_modes(), 8);
  const std::vector<std::int32_t> states = {1, 6, 6, 1, /**/ 6, 6, 1, 1, /**/ 1, 6, 5, 1, /**/ 0, 0, 0, 1};
  std::vector<std::int64_t> ids(4);
  env.mode_ids(states, ids);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{0 * 4 + 1 * 2 + 1, 1 * 4 + 1 * 2 + 0, -1, -1}));
  std::vector<double> log_r(4);
  env.log_reward(states, log_r);
  EXPECT_DOUBLE_EQ(log_r[0], std::log(2.6));
  EXPECT_DOUBLE_EQ(log_r[2], std::log(0.1));  // 5 lies in neither band for H = 8
  EXPECT_DOUBLE_EQ(log_r[3], std::log(0.6));  // the corner s_0: outer band, not inner
}

TEST(HyperGrid, TorchgfnMasksAndSteps) {
  const HyperGrid env = grid(2, 4, 0.1);
  EXPECT_EQ(env.state_dim(), 3);
  EXPECT_EQ(env.num_actions(), 3);
  EXPECT_EQ(env.exit_action(), 2);
  EXPECT_EQ(env.max_trajectory_length(), 7);
  std::vector<std::int32_t> s(6);
  env.reset(s);
  EXPECT_EQ(s, (std::vector<std::int32_t>{0, 0, 0, 0, 0, 0}));
  env.step(s, std::vector<std::int32_t>{0, 2});  // row 0 increments x_0, row 1 exits at s_0
  EXPECT_EQ(s, (std::vector<std::int32_t>{1, 0, 0, 0, 0, 1}));
  env.step(s, std::vector<std::int32_t>{0, DiscreteEnv::no_action});
  env.step(s, std::vector<std::int32_t>{0, DiscreteEnv::no_action});
  EXPECT_EQ(s, (std::vector<std::int32_t>{3, 0, 0, 0, 0, 1}));
  std::unique_ptr<bool[]> masks(new bool[6]);
  env.forward_masks(s, std::span<bool>(masks.get(), 6));
  EXPECT_EQ(std::vector<bool>(masks.get(), masks.get() + 6), (std::vector<bool>{false, true, true, false, false, false}));
  EXPECT_GFN_THROW(env.step(s, std::vector<std::int32_t>{0, DiscreteEnv::no_action}), "action 0 is not allowed in row 0");
  EXPECT_GFN_THROW(env.step(s, std::vector<std::int32_t>{1, 2}), "action 2 is not allowed in row 1");
  EXPECT_EQ(s, (std::vector<std::int32_t>{3, 0, 0, 0, 0, 1}));  // a rejected batch moves no row
  EXPECT_GFN_THROW(env.step(s, std::vector<std::int32_t>{1}), "actions holds 1 values, expected [2, 1]");
  bool terminal[2];
  env.is_terminal(s, std::span<bool>(terminal, 2));
  EXPECT_FALSE(terminal[0]);
  EXPECT_TRUE(terminal[1]);
  std::vector<double> log_r(2);
  EXPECT_GFN_THROW(env.log_reward(s, log_r), "row 0 is not terminal");
  env.state_log_reward(s, log_r);  // defined everywhere: any point may exit
  EXPECT_DOUBLE_EQ(log_r[0], std::log(0.6));
}

TEST(HyperGrid, BackwardMasksAreTheUniformParents) {
  const HyperGrid env = grid(3, 5, 0.1);
  // Non-terminal (2, 0, 4): decrement x_0 or x_2. Terminal: only undo the exit.
  const std::vector<std::int32_t> s = {2, 0, 4, 0, /**/ 2, 0, 4, 1, /**/ 0, 0, 0, 0};
  std::unique_ptr<bool[]> masks(new bool[12]);
  env.backward_masks(s, std::span<bool>(masks.get(), 12));
  EXPECT_EQ(std::vector<bool>(masks.get(), masks.get() + 12),
            (std::vector<bool>{true, false, true, false, false, false, false, true, false, false, false, false}));
  ParentList parents;
  env.parents(s, parents);
  EXPECT_EQ(parents.offsets, (std::vector<std::int64_t>{0, 2, 3, 3}));
  EXPECT_EQ(parents.actions, (std::vector<std::int32_t>{0, 2, 3}));
  EXPECT_EQ(parents.states, (std::vector<std::int32_t>{1, 0, 4, 0, /**/ 2, 0, 3, 0, /**/ 2, 0, 4, 0}));
  std::vector<std::int32_t> back = s;
  env.backward_step(back, std::vector<std::int32_t>{2, 3, DiscreteEnv::no_action});
  EXPECT_EQ(back, (std::vector<std::int32_t>{2, 0, 3, 0, /**/ 2, 0, 4, 0, /**/ 0, 0, 0, 0}));
  EXPECT_GFN_THROW(env.backward_step(back, std::vector<std::int32_t>{1, 0, 0}), "action 1 is not allowed in row 0");
}

TEST(HyperGrid, OriginalMdpEndsAtTheEdge) {
  const HyperGrid env = grid(2, 4, 0.1, HyperGridMdp::original_2021);
  EXPECT_EQ(env.max_trajectory_length(), 5);
  std::vector<std::int32_t> s = {2, 1, 0};
  env.step(s, std::vector<std::int32_t>{0});
  EXPECT_EQ(s, (std::vector<std::int32_t>{3, 1, 1}));  // done on arrival, no exit step
  // Its one parent decrements the edge coordinate; (3, 3) is unreachable.
  const std::vector<std::int32_t> states = {3, 1, 1, /**/ 3, 3, 1, /**/ 1, 2, 1};
  ParentList parents;
  env.parents(states, parents);
  EXPECT_EQ(parents.offsets, (std::vector<std::int64_t>{0, 1, 1, 2}));
  EXPECT_EQ(parents.actions, (std::vector<std::int32_t>{0, 2}));
  EXPECT_EQ(parents.states, (std::vector<std::int32_t>{2, 1, 0, /**/ 1, 2, 0}));
  EXPECT_GFN_THROW(env.terminal_index(&states[3]), "two coordinates at H-1 is unreachable");
}

TEST(HyperGrid, EncodingIsOneHotPerCoordinate) {
  const HyperGrid env = grid(2, 3, 0.1);
  const std::vector<std::int32_t> s = {2, 0, 0, /**/ 1, 1, 1};
  std::vector<float> out(12, -1.0f);
  env.encode(s, out);
  EXPECT_EQ(out, (std::vector<float>{0, 0, 1, 1, 0, 0, /**/ 0, 1, 0, 0, 1, 0}));
}

TEST(HyperGrid, RandomRolloutsAgreeWithParentsAndBackwardSteps) {
  for (HyperGridMdp mdp : {HyperGridMdp::torchgfn, HyperGridMdp::original_2021}) {
    testing::check_random_rollouts(grid(3, 5, 0.1, mdp), 64, 7);
    testing::check_random_rollouts(grid(1, 2, 0.1, mdp), 8, 8);
  }
}

TEST(HyperGrid, ExactFlowsInduceTheTargetDistribution) {
  for (HyperGridMdp mdp : {HyperGridMdp::torchgfn, HyperGridMdp::original_2021}) {
    for (const HyperGrid& env : {grid(2, 8, 0.1, mdp), grid(3, 5, 1e-3, mdp), grid(1, 4, 0.1, mdp)}) {
      testing::check_index_round_trip(env);
      testing::check_exact_flow_oracle(env);
    }
  }
}

TEST(HyperGrid, UniformPolicyDistributionMatchesSampling) {
  // Under the uniform forward policy the exact distribution is a DP; sampling must agree.
  const HyperGrid env = grid(2, 4, 0.1);
  const std::int64_t n = env.num_nonterminal_states();
  std::vector<double> probs(static_cast<std::size_t>(n * env.num_actions()));
  std::vector<std::int32_t> s(static_cast<std::size_t>(env.state_dim()));
  std::unique_ptr<bool[]> mask(new bool[static_cast<std::size_t>(env.num_actions())]);
  for (std::int64_t i = 0; i < n; ++i) {
    env.nonterminal_state(i, s.data());
    env.forward_masks(s, std::span<bool>(mask.get(), static_cast<std::size_t>(env.num_actions())));
    const int allowed = static_cast<int>(std::count(mask.get(), mask.get() + env.num_actions(), true));
    for (int a = 0; a < env.num_actions(); ++a) probs[static_cast<std::size_t>(i * env.num_actions() + a)] = mask[a] ? 1.0 / allowed : 0.0;
  }
  const std::vector<double> exact = policy_terminal_distribution(env, probs);
  // s_0 exits with probability 1/3 at once.
  EXPECT_NEAR(exact[0], 1.0 / 3.0, 1e-15);

  constexpr int batch = 200000;
  std::vector<std::int32_t> states(static_cast<std::size_t>(batch * env.state_dim()));
  std::vector<std::int32_t> actions(batch);
  std::unique_ptr<bool[]> masks(new bool[static_cast<std::size_t>(batch * env.num_actions())]);
  Rng rng(3);
  env.reset(states);
  for (int t = 0; t < env.max_trajectory_length(); ++t) {
    env.forward_masks(states, std::span<bool>(masks.get(), static_cast<std::size_t>(batch * env.num_actions())));
    for (int b = 0; b < batch; ++b) actions[b] = testing::random_allowed(masks.get() + b * env.num_actions(), env.num_actions(), rng);
    env.step(states, actions);
  }
  const std::vector<double> empirical = empirical_distribution(env, states);
  for (std::size_t x = 0; x < exact.size(); ++x) {
    EXPECT_NEAR(empirical[x], exact[x], 5 * std::sqrt(exact[x] / batch) + 1e-12) << "terminal " << x;
  }
  std::vector<double> bad = probs;
  const std::int64_t corner = env.num_nonterminal_states() - 1;  // (3, 3): increments masked
  bad[static_cast<std::size_t>(corner * env.num_actions())] = 0.5;
  EXPECT_GFN_THROW(policy_terminal_distribution(env, bad), "on masked action 0");
}

TEST(HyperGrid, RejectsBadConfigs) {
  EXPECT_GFN_THROW(grid(0, 8, 0.1), "D >= 1 and H >= 2");
  EXPECT_GFN_THROW(grid(2, 1, 0.1), "got D = 2, H = 1");
  EXPECT_GFN_THROW(grid(2, 8, -1), "must be >= 0");
  EXPECT_EQ(grid(64, 64, 0.1).num_terminal_states(), -1);  // 64^64 does not fit
  EXPECT_GFN_THROW(enumerate_terminal_states(grid(64, 64, 0.1)), "not enumerable");
  EXPECT_GFN_THROW(enumerate_terminal_states(grid(10, 12, 0.1)), "exceed the enumeration limit");
  EXPECT_TRUE(std::isfinite(grid(64, 64, 0.1).log_partition()));  // the closed form needs no enumeration
}

}  // namespace
}  // namespace subtb::gfn
