// Off-policy pieces of the trainer: the replay buffer (replay from s_0, FIFO eviction,
// reward-prioritised draws, a checkpoint round trip), backward sampling with P_B, and
// concatenating padded batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "envs/gfn/bit_sequence.h"
#include "envs/gfn/hypergrid.h"
#include "gflownet/replay_buffer.h"
#include "gflownet/sampler.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

using gfn::HyperGrid;

Policy make_policy(const gfn::DiscreteEnv& env, BackwardPolicy backward, uint64_t seed = 1) {
  Generator gen(seed);
  return Policy({env.encoding_dim(), env.num_actions(), env.num_backward_actions(), 16, 1, backward}, gen);
}

// Every row starts at s_0, each action leads from state t to state t + 1, the padding
// repeats the terminal state, and the log-reward is the terminal state's.
void expect_consistent(const gfn::DiscreteEnv& env, const SampledTrajectories& s) {
  const int S = env.state_dim();
  std::vector<std::int32_t> s0(static_cast<size_t>(S)), row(static_cast<size_t>(S));
  env.reset(s0);
  for (int64_t b = 0; b < s.batch; ++b) {
    SCOPED_TRACE("row " + std::to_string(b));
    ASSERT_TRUE(std::equal(s0.begin(), s0.end(), s.state(b, 0)));
    const int64_t n = s.lengths[static_cast<size_t>(b)];
    for (int64_t t = 0; t < s.max_length; ++t) {
      std::copy_n(s.state(b, t), S, row.begin());
      const std::int32_t a = s.actions[static_cast<size_t>(b * s.max_length + t)];
      if (t < n) {
        const std::int32_t action[1] = {a};
        env.step(row, action);
      } else {
        EXPECT_EQ(a, gfn::DiscreteEnv::no_action);
      }
      EXPECT_TRUE(std::equal(row.begin(), row.end(), s.state(b, t + 1))) << "step " << t;
    }
    double log_r = 0;
    env.log_reward({s.state(b, n), static_cast<size_t>(S)}, {&log_r, 1});
    EXPECT_EQ(log_r, s.log_rewards[static_cast<size_t>(b)]);
  }
}

TEST(ReplayBuffer, ReplaysStoredTrajectoriesExactlyAndEvictsTheOldest) {
  const HyperGrid env({2, 5, 0.1});
  Policy policy = make_policy(env, BackwardPolicy::uniform);
  Generator gen(3);
  const SampledTrajectories first = sample_trajectories(env, policy, 6, {0.5, 1.0}, gen);
  const SampledTrajectories second = sample_trajectories(env, policy, 3, {0.5, 1.0}, gen);
  ReplayBuffer buffer(env, 8);
  buffer.add(first);
  ASSERT_EQ(buffer.size(), 6);
  const SampledTrajectories replayed = buffer.trajectories({0, 1, 2, 3, 4, 5});
  EXPECT_EQ(replayed.lengths, first.lengths);
  EXPECT_EQ(replayed.log_rewards, first.log_rewards);
  EXPECT_EQ(replayed.terminal_states(), first.terminal_states());
  expect_consistent(env, replayed);

  // 9 trajectories in 8 slots: the first one is overwritten by second's last.
  buffer.add(second);
  ASSERT_EQ(buffer.size(), 8);
  const SampledTrajectories slot0 = buffer.trajectories({0}), slot7 = buffer.trajectories({7});
  EXPECT_EQ(slot0.lengths[0], second.lengths[2]);
  EXPECT_EQ(slot0.log_rewards[0], second.log_rewards[2]);
  EXPECT_EQ(slot7.lengths[0], second.lengths[1]);
}

TEST(ReplayBuffer, RewardPriorityDrawsProportionallyToR) {
  const HyperGrid env({2, 8, 0.1});
  Policy policy = make_policy(env, BackwardPolicy::uniform);
  Generator gen(6);
  const SampledTrajectories samples = sample_trajectories(env, policy, 5, {1.0, 1.0}, gen);
  ASSERT_NE(*std::max_element(samples.log_rewards.begin(), samples.log_rewards.end()),
            *std::min_element(samples.log_rewards.begin(), samples.log_rewards.end()));
  ReplayBuffer buffer(env, 5);
  buffer.add(samples);
  double total = 0;
  for (const double log_r : samples.log_rewards) total += std::exp(log_r);
  constexpr int n = 20000;
  std::vector<int> prioritised(5, 0), uniform(5, 0);
  for (int64_t i : buffer.draw(n, ReplayPriority::reward, gen)) ++prioritised[static_cast<size_t>(i)];
  for (int64_t i : buffer.draw(n, ReplayPriority::uniform, gen)) ++uniform[static_cast<size_t>(i)];
  for (size_t i = 0; i < 5; ++i) {
    // Binomial standard deviations are at most 0.0036 here; 0.015 is over four of them.
    EXPECT_NEAR(prioritised[i] / double(n), std::exp(samples.log_rewards[i]) / total, 0.015) << i;
    EXPECT_NEAR(uniform[i] / double(n), 0.2, 0.015) << i;
  }
}

TEST(ReplayBuffer, RoundTripsThroughJsonAndRejectsAForeignBuffer) {
  const HyperGrid env({2, 5, 0.1});
  Policy policy = make_policy(env, BackwardPolicy::uniform);
  Generator gen(5);
  ReplayBuffer buffer(env, 4);
  buffer.add(sample_trajectories(env, policy, 7, {0.3, 1.0}, gen));
  ReplayBuffer restored(env, 4);
  restored.restore(nlohmann::json::parse(buffer.to_json().dump()));
  EXPECT_EQ(restored.to_json(), buffer.to_json());
  Generator a(9), b(9);
  EXPECT_EQ(restored.draw(16, ReplayPriority::reward, a), buffer.draw(16, ReplayPriority::reward, b));

  const HyperGrid other({2, 3, 0.1});  // the stored walks leave this smaller grid
  ReplayBuffer foreign(other, 4);
  EXPECT_THROW(foreign.restore(buffer.to_json()), Error);
  EXPECT_THROW_MSG(ReplayBuffer(env, 2).restore(buffer.to_json()), "ReplayBuffer", "capacity 2");
  EXPECT_THROW_MSG(ReplayBuffer(env, 4).draw(1, ReplayPriority::uniform, gen), "empty");
}

TEST(BackwardSampling, RollsTerminalStatesBackToValidForwardTrajectories) {
  const HyperGrid grid({3, 4, 0.1});
  gfn::BitSequenceConfig bits_config;
  bits_config.length = 16;
  bits_config.word_bits = 4;
  bits_config.num_modes = 4;
  bits_config.order = gfn::BitOrder::any_position;
  const gfn::BitSequence bits(bits_config);
  for (const gfn::DiscreteEnv* env :
       {static_cast<const gfn::DiscreteEnv*>(&grid), static_cast<const gfn::DiscreteEnv*>(&bits)}) {
    for (BackwardPolicy pb : {BackwardPolicy::uniform, BackwardPolicy::learned}) {
      SCOPED_TRACE(env->name() + " " + std::string(to_string(pb)));
      Policy policy = make_policy(*env, pb);
      Generator gen(2);
      const SampledTrajectories forward = sample_trajectories(*env, policy, 12, {1.0, 1.0}, gen);
      const std::vector<std::int32_t> x = forward.terminal_states();
      const SampledTrajectories back = sample_backward_trajectories(*env, policy, x, gen);
      ASSERT_EQ(back.batch, 12);
      EXPECT_EQ(back.terminal_states(), x);
      EXPECT_EQ(back.log_rewards, forward.log_rewards);
      expect_consistent(*env, back);
      // Every trajectory to a given object has the same number of steps on these spaces.
      EXPECT_EQ(back.lengths, forward.lengths);
      // The result scores like a forward batch.
      EXPECT_NO_THROW(evaluate_trajectories(*env, policy, back));
    }
  }
  Policy policy = make_policy(grid, BackwardPolicy::uniform);
  Generator gen(1);
  std::vector<std::int32_t> s0(static_cast<size_t>(grid.state_dim()));
  grid.reset(s0);
  EXPECT_THROW_MSG(sample_backward_trajectories(grid, policy, s0, gen), "sample_backward_trajectories", "row 0",
                   "not a terminal state");
}

TEST(BackwardSampling, UniformPBReachesEveryOrderOfASet) {
  // Any-position bit strings of two words: each full string has two orders, drawn evenly.
  gfn::BitSequenceConfig c;
  c.length = 8;
  c.word_bits = 4;
  c.num_modes = 2;
  c.order = gfn::BitOrder::any_position;
  const gfn::BitSequence env(c);
  Policy policy = make_policy(env, BackwardPolicy::uniform);
  std::vector<std::int32_t> x(static_cast<size_t>(env.state_dim()));
  env.terminal_state(0x5A, x.data());
  std::vector<std::int32_t> many;
  for (int i = 0; i < 4000; ++i) many.insert(many.end(), x.begin(), x.end());
  Generator gen(4);
  const SampledTrajectories back = sample_backward_trajectories(env, policy, many, gen);
  int first_slot_first = 0;
  for (int64_t b = 0; b < back.batch; ++b)
    first_slot_first += back.actions[static_cast<size_t>(b * back.max_length)] / 16 == 0;
  EXPECT_NEAR(first_slot_first / 4000.0, 0.5, 0.03);
}

TEST(Concatenate, PadsEveryPartToTheLongest) {
  const HyperGrid env({2, 6, 0.1});
  Policy policy = make_policy(env, BackwardPolicy::uniform);
  Generator gen(8);
  const SampledTrajectories a = sample_trajectories(env, policy, 3, {1.0, 1.0}, gen);
  const SampledTrajectories b = sample_trajectories(env, policy, 5, {0.0, 1.0}, gen);
  const SampledTrajectories none;  // what the trainer passes when a batch has no backward part
  const SampledTrajectories c = concatenate({&a, &none, &b});
  EXPECT_EQ(c.batch, 8);
  EXPECT_EQ(c.max_length, std::max(a.max_length, b.max_length));
  std::vector<std::int32_t> terminal = a.terminal_states();
  const std::vector<std::int32_t> tb = b.terminal_states();
  terminal.insert(terminal.end(), tb.begin(), tb.end());
  EXPECT_EQ(c.terminal_states(), terminal);
  expect_consistent(env, c);
  EXPECT_THROW_MSG(concatenate({}), "concatenate", "no parts");
}

}  // namespace
}  // namespace subtb::gflownet
