// SetGeneration: the paper's tasks and their log Z, the dynamic program against brute
// force, set-versus-trajectory counting, intermediate rewards and the dynamics.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "envs/gfn/data_path.h"
#include "envs/gfn/exact.h"
#include "envs/gfn/set_generation.h"
#include "tests/envs/test_gfn_checks.h"

namespace subtb::gfn {
namespace {

SetGeneration tiny() {
  return SetGeneration(SetGenerationConfig{"tiny", 7, 3, {0.5, -0.25, 1.0, 0.0, -1.5, 0.75, 0.3}});
}

TEST(SetGeneration, LogPartitionMatchesTheReference) {
  // log Z sums R over sets (not over the set_size! orders of building each one).
  const struct {
    const char* task;
    int universe, set_size;
    double log_z;
  } cases[] = {{"small", 30, 20, 11.89239}, {"medium", 80, 60, 45.37895}, {"large", 100, 80, 48.39195}};
  std::ifstream in(find_data_file("fl_set_energies.json"));
  const nlohmann::json json = nlohmann::json::parse(in);
  for (const auto& c : cases) {
    const SetGeneration env(set_generation_task(c.task));
    EXPECT_EQ(env.num_actions(), c.universe);
    EXPECT_EQ(env.max_trajectory_length(), c.set_size);
    EXPECT_EQ(env.exit_action(), -1);
    EXPECT_NEAR(env.log_partition(), c.log_z, 5e-6) << env.name();
    EXPECT_NEAR(env.log_partition(), json["tasks"][c.task]["log_sum_over_sets"].get<double>(), 1e-10) << env.name();
  }
}

TEST(SetGeneration, DynamicProgramEqualsBruteForceOverSetsAndOrders) {
  const SetGeneration env = tiny();
  const auto& e = env.config().energies;
  double over_sets = 0, over_orders = 0;
  for (int mask = 0; mask < 128; ++mask) {
    if (__builtin_popcount(static_cast<unsigned>(mask)) != 3) continue;
    double energy = 0;
    for (int a = 0; a < 7; ++a) energy += (mask >> a & 1) ? e[static_cast<std::size_t>(a)] : 0.0;
    over_sets += std::exp(-energy);
  }
  for (int a = 0; a < 7; ++a) {  // every ordered triple of distinct elements: one trajectory each
    for (int b = 0; b < 7; ++b) {
      for (int c = 0; c < 7; ++c) {
        if (a == b || b == c || a == c) continue;
        over_orders += std::exp(-(e[static_cast<std::size_t>(a)] + e[static_cast<std::size_t>(b)] + e[static_cast<std::size_t>(c)]));
      }
    }
  }
  EXPECT_NEAR(env.log_partition(), std::log(over_sets), 1e-14);
  EXPECT_NEAR(std::log(over_orders), env.log_partition() + std::lgamma(4.0), 1e-13);
}

TEST(SetGeneration, StepsRewardsAndParents) {
  const SetGeneration env = tiny();
  std::vector<std::int32_t> s(8);
  env.reset(s);
  env.step(s, std::vector<std::int32_t>{4});
  env.step(s, std::vector<std::int32_t>{1});
  EXPECT_EQ(s, (std::vector<std::int32_t>{0, 1, 0, 0, 1, 0, 0, 2}));
  double log_r = 0;
  env.state_log_reward(s, std::span<double>(&log_r, 1));
  EXPECT_DOUBLE_EQ(log_r, 1.75);  // -(-0.25 - 1.5)
  EXPECT_GFN_THROW(env.log_reward(s, std::span<double>(&log_r, 1)), "row 0 is not terminal");
  EXPECT_GFN_THROW(env.step(s, std::vector<std::int32_t>{4}), "action 4 is not allowed in row 0");
  ParentList parents;
  env.parents(s, parents);
  EXPECT_EQ(parents.actions, (std::vector<std::int32_t>{1, 4}));
  EXPECT_EQ(parents.states, (std::vector<std::int32_t>{0, 0, 0, 0, 1, 0, 0, 1, /**/ 0, 1, 0, 0, 0, 0, 0, 1}));
  env.step(s, std::vector<std::int32_t>{6});
  bool terminal = false;
  env.is_terminal(s, std::span<bool>(&terminal, 1));
  EXPECT_TRUE(terminal);
  env.log_reward(s, std::span<double>(&log_r, 1));
  EXPECT_DOUBLE_EQ(log_r, 1.75 - 0.3);
  std::unique_ptr<bool[]> mask(new bool[7]);
  env.forward_masks(s, std::span<bool>(mask.get(), 7));
  EXPECT_EQ(std::count(mask.get(), mask.get() + 7, true), 0);  // full: nothing more to add
  std::vector<float> code(7);
  env.encode(s, code);
  EXPECT_EQ(code, (std::vector<float>{0, 1, 0, 0, 1, 0, 1}));
}

TEST(SetGeneration, RandomRolloutsAgreeWithParentsAndBackwardSteps) {
  testing::check_random_rollouts(tiny(), 64, 5);
  testing::check_random_rollouts(SetGeneration(set_generation_task("medium")), 16, 6);
}

TEST(SetGeneration, ErrorsNameTheProblem) {
  EXPECT_GFN_THROW(set_generation_task("huge"), "no task 'huge'");
  EXPECT_GFN_THROW(set_generation_task("small", "/nonexistent/x.json"), "cannot open /nonexistent/x.json");
  EXPECT_GFN_THROW(SetGeneration(SetGenerationConfig{"bad", 3, 4, {0, 0, 0}}), "set_size <= universe_size");
  EXPECT_GFN_THROW(SetGeneration(SetGenerationConfig{"bad", 3, 2, {0, 0}}), "2 energies for a universe of 3");
  EXPECT_GFN_THROW(find_data_file("no_such_file.json"), "data file 'no_such_file.json' not found");
  EXPECT_EQ(tiny().num_terminal_states(), -1);  // log Z comes from the dynamic program instead
  EXPECT_GFN_THROW(enumerate_terminal_states(tiny()), "not enumerable");
}

}  // namespace
}  // namespace subtb::gfn
