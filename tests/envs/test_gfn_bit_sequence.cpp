// BitSequence: the mode set, the Hamming reward in both conventions, both generation
// orders, the mutated-mode test set, and the exact machinery on small instances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <vector>

#include "envs/gfn/bit_sequence.h"
#include "envs/gfn/exact.h"
#include "tests/envs/test_gfn_checks.h"

namespace subtb::gfn {
namespace {

// The bits of a terminal row, read word by word, most significant bit first.
std::vector<int> bits_of(const BitSequence& env, const std::int32_t* state) {
  const int k = env.config().word_bits;
  std::vector<int> bits;
  for (int p = 0; p < env.slots(); ++p) {
    for (int j = k - 1; j >= 0; --j) bits.push_back((state[p] >> j) & 1);
  }
  return bits;
}

std::vector<std::int32_t> mode_row(const BitSequence& env, int m) {
  std::vector<std::int32_t> row(static_cast<std::size_t>(env.state_dim()));
  env.mode_state(m, row.data());
  return row;
}

// min over modes of the Hamming distance, bit by bit.
int brute_distance(const BitSequence& env, const std::int32_t* state) {
  const std::vector<int> x = bits_of(env, state);
  int best = 1 << 30;
  for (int m = 0; m < env.num_modes(); ++m) {
    const std::vector<int> y = bits_of(env, mode_row(env, m).data());
    int d = 0;
    for (std::size_t i = 0; i < x.size(); ++i) d += x[i] != y[i];
    best = std::min(best, d);
  }
  return best;
}

TEST(BitSequence, ModesAreDistinctMotifStrings) {
  const BitSequence env;  // n = 120, k = 8, 60 modes
  EXPECT_EQ(env.num_actions(), 256);
  EXPECT_EQ(env.slots(), 15);
  EXPECT_EQ(env.max_trajectory_length(), 15);
  EXPECT_EQ(env.exit_action(), -1);
  std::set<std::vector<int>> modes;
  for (int m = 0; m < 60; ++m) {
    const std::vector<int> bits = bits_of(env, mode_row(env, m).data());
    for (int c = 0; c < 15; ++c) {
      int motif = 0;
      for (int i = 0; i < 8; ++i) motif = motif * 2 + bits[static_cast<std::size_t>(8 * c + i)];
      EXPECT_NE(std::find(BitSequence::motifs.begin(), BitSequence::motifs.end(), motif), BitSequence::motifs.end());
    }
    modes.insert(bits);
  }
  EXPECT_EQ(modes.size(), 60u);
  // The same seed gives the same modes whatever the word size; another seed others.
  const BitSequence k4(BitSequenceConfig{.word_bits = 4});
  const BitSequence other(BitSequenceConfig{.mode_seed = 1});
  EXPECT_EQ(bits_of(k4, mode_row(k4, 17).data()), bits_of(env, mode_row(env, 17).data()));
  EXPECT_NE(bits_of(other, mode_row(other, 0).data()), bits_of(env, mode_row(env, 0).data()));
}

TEST(BitSequence, LogRewardIsTheHammingDistanceToTheNearestMode) {
  for (int k : {1, 3, 8, 12}) {  // k = 3 and 12 make words straddle 64-bit boundaries
    const BitSequence env(BitSequenceConfig{.word_bits = k, .temperature = 2.0});
    const int dim = env.state_dim();
    Rng rng(static_cast<std::uint64_t>(k));
    std::vector<std::int32_t> states(static_cast<std::size_t>(40 * dim));
    for (int b = 0; b < 40; ++b) {
      std::int32_t* row = &states[static_cast<std::size_t>(b * dim)];
      env.mode_state(b % 60, row);
      // Flip a few bits of a mode (b < 20) or draw a random string.
      for (int p = 0; p < env.slots(); ++p) {
        if (b >= 20) row[p] = static_cast<std::int32_t>(rng.below(1u << env.config().word_bits));
      }
      if (b < 20) row[b % env.slots()] ^= 1;
    }
    std::vector<double> log_r(40);
    env.log_reward(states, log_r);
    for (int b = 0; b < 40; ++b) {
      const std::int32_t* row = &states[static_cast<std::size_t>(b * dim)];
      ASSERT_EQ(env.distance_to_modes(row), brute_distance(env, row)) << env.name();
      ASSERT_DOUBLE_EQ(log_r[static_cast<std::size_t>(b)], -brute_distance(env, row) / 2.0) << env.name();
      if (b < 20) {
        EXPECT_EQ(env.distance_to_modes(row), 1);
      }
    }
  }
  const BitSequence beta(BitSequenceConfig{.beta = 3.0});
  std::vector<std::int32_t> row = mode_row(beta, 5);
  row[0] ^= 0b101;
  double log_r = 0;
  beta.log_reward(row, std::span<double>(&log_r, 1));
  EXPECT_DOUBLE_EQ(log_r, -3.0 * 2 / 120);
}

TEST(BitSequence, WordBoundariesAcrossPackedWords) {
  // k = 24 is not allowed, but n = 192 with k = 12 and k = 6 puts words across bit 64.
  for (int k : {6, 12}) {
    const BitSequence env(BitSequenceConfig{.length = 192, .word_bits = k, .num_modes = 10});
    std::vector<std::int32_t> row = mode_row(env, 3);
    EXPECT_EQ(env.distance_to_modes(row.data()), 0);
    for (int p = 0; p < env.slots(); p += 3) row[static_cast<std::size_t>(p)] ^= 1 << (k - 1);
    EXPECT_EQ(env.distance_to_modes(row.data()), brute_distance(env, row.data())) << env.name();
  }
}

TEST(BitSequence, ModeIdsUseTheThreshold) {
  const BitSequence env(BitSequenceConfig{.mode_threshold = 2});
  std::vector<std::int32_t> states = mode_row(env, 7);
  std::vector<std::int32_t> far = mode_row(env, 9);
  far[0] ^= 0b111;  // distance 3 from mode 9, and the modes are far apart
  states.insert(states.end(), far.begin(), far.end());
  std::vector<std::int64_t> ids(2);
  env.mode_ids(states, ids);
  EXPECT_EQ(ids[0], 7);
  ASSERT_EQ(brute_distance(env, far.data()), 3);
  EXPECT_EQ(ids[1], -1);
}

TEST(BitSequence, AppendOrderIsATree) {
  const BitSequence env(BitSequenceConfig{.length = 16, .word_bits = 4, .num_modes = 5});
  EXPECT_EQ(env.num_backward_actions(), 1);
  std::vector<std::int32_t> s(5);
  env.reset(s);
  EXPECT_EQ(s, (std::vector<std::int32_t>{-1, -1, -1, -1, 0}));
  env.step(s, std::vector<std::int32_t>{9});
  env.step(s, std::vector<std::int32_t>{3});
  EXPECT_EQ(s, (std::vector<std::int32_t>{9, 3, -1, -1, 2}));
  ParentList parents;
  env.parents(s, parents);
  EXPECT_EQ(parents.actions, (std::vector<std::int32_t>{3}));
  EXPECT_EQ(parents.states, (std::vector<std::int32_t>{9, -1, -1, -1, 1}));
  std::vector<float> code(32);
  env.encode(s, code);
  // 9 = 1001, 3 = 0011: pairs (is 0, is 1) per bit, zeros for the empty slots.
  EXPECT_EQ(std::vector<float>(code.begin(), code.begin() + 18),
            (std::vector<float>{0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0}));
  EXPECT_EQ(std::count(code.begin(), code.end(), 1.0f), 8);
  env.step(s, std::vector<std::int32_t>{0});
  env.step(s, std::vector<std::int32_t>{15});
  EXPECT_GFN_THROW(env.step(s, std::vector<std::int32_t>{1}), "action 1 is not allowed in row 0");
  EXPECT_GFN_THROW(env.step(s, std::vector<std::int32_t>{16}), "action 16 is not allowed");
}

TEST(BitSequence, AnyPositionOrderIsADag) {
  const BitSequence env(BitSequenceConfig{.length = 16, .word_bits = 4, .num_modes = 5, .order = BitOrder::any_position});
  EXPECT_EQ(env.num_actions(), 64);
  EXPECT_EQ(env.num_backward_actions(), 4);
  std::vector<std::int32_t> s(5);
  env.reset(s);
  env.step(s, std::vector<std::int32_t>{2 * 16 + 5});
  env.step(s, std::vector<std::int32_t>{0 * 16 + 7});
  EXPECT_EQ(s, (std::vector<std::int32_t>{7, -1, 5, -1, 2}));
  EXPECT_GFN_THROW(env.step(s, std::vector<std::int32_t>{2 * 16 + 1}), "action 33 is not allowed");
  ParentList parents;
  env.parents(s, parents);
  EXPECT_EQ(parents.actions, (std::vector<std::int32_t>{7, 2 * 16 + 5}));
  EXPECT_EQ(parents.states, (std::vector<std::int32_t>{-1, -1, 5, -1, 1, /**/ 7, -1, -1, -1, 1}));
}

TEST(BitSequence, RandomRolloutsAgreeWithParentsAndBackwardSteps) {
  for (BitOrder order : {BitOrder::append, BitOrder::any_position}) {
    testing::check_random_rollouts(BitSequence(BitSequenceConfig{.order = order}), 32, 11);
    testing::check_random_rollouts(
        BitSequence(BitSequenceConfig{.length = 24, .word_bits = 3, .num_modes = 7, .order = order}), 64, 12);
  }
}

TEST(BitSequence, ExactFlowsInduceTheTargetDistribution) {
  for (BitOrder order : {BitOrder::append, BitOrder::any_position}) {
    const BitSequence words(BitSequenceConfig{.length = 8, .word_bits = 2, .num_modes = 3, .order = order});
    const BitSequence bits(BitSequenceConfig{.length = 8, .word_bits = 1, .num_modes = 5, .order = order});
    for (const BitSequence* env : {&words, &bits}) {
      testing::check_index_round_trip(*env);
      testing::check_exact_flow_oracle(*env);
    }
  }
  const BitSequence wide(BitSequenceConfig{.length = 16, .word_bits = 4, .num_modes = 6});
  testing::check_index_round_trip(wide);
  testing::check_exact_flow_oracle(wide);
  const BitSequence small(BitSequenceConfig{.length = 8, .word_bits = 2, .num_modes = 3, .order = BitOrder::any_position});
  EXPECT_EQ(small.num_nonterminal_states(), 625 - 256);  // 5^4 digit strings with an empty slot
  EXPECT_EQ(small.num_terminal_states(), 256);
  EXPECT_EQ(BitSequence().num_terminal_states(), -1);
  EXPECT_GFN_THROW(BitSequence().log_partition(), "not enumerable");
}

TEST(BitSequence, LogPartitionByEnumerationIsTheSumOverStrings) {
  const BitSequence env(BitSequenceConfig{.length = 8, .word_bits = 4, .num_modes = 4, .temperature = 0.5});
  // Closed form by counting: sum over the 256 strings of exp(-2 d(x)), d by brute force.
  double z = 0;
  std::vector<std::int32_t> row(3);
  for (int v = 0; v < 256; ++v) {
    row = {v >> 4, v & 15, 2};
    z += std::exp(-2.0 * brute_distance(env, row.data()));
  }
  EXPECT_NEAR(env.log_partition(), std::log(z), 1e-13);
}

TEST(BitSequence, TestSetMutatesModes) {
  const BitSequence env;
  const std::vector<std::int32_t> test = env.test_set(3, 42);
  ASSERT_EQ(test.size(), static_cast<std::size_t>(180 * env.state_dim()));
  EXPECT_EQ(test, env.test_set(3, 42));
  EXPECT_NE(test, env.test_set(3, 43));
  std::set<int> flips;
  for (int i = 0; i < 180; ++i) {
    const std::int32_t* row = &test[static_cast<std::size_t>(i * env.state_dim())];
    EXPECT_EQ(row[env.slots()], env.slots());
    const std::vector<int> x = bits_of(env, row), m = bits_of(env, mode_row(env, i / 3).data());
    int d = 0;
    for (std::size_t b = 0; b < x.size(); ++b) d += x[b] != m[b];
    EXPECT_LT(d, 120);
    flips.insert(d);
  }
  EXPECT_GT(flips.size(), 50u);  // K is spread over [0, n)
}

TEST(BitSequence, RejectsBadConfigs) {
  EXPECT_GFN_THROW(BitSequence(BitSequenceConfig{.length = 20, .word_bits = 4}), "multiple of 8");
  EXPECT_GFN_THROW(BitSequence(BitSequenceConfig{.length = 120, .word_bits = 7}), "multiple of 8 and of word_bits 7");
  EXPECT_GFN_THROW(BitSequence(BitSequenceConfig{.length = 8, .num_modes = 6}), "6 modes requested");
  EXPECT_GFN_THROW(BitSequence(BitSequenceConfig{.word_bits = 17}), "word_bits must lie in [1, 16]");
  std::vector<std::int32_t> partial(16, -1);
  partial[15] = 0;
  double log_r = 0;
  EXPECT_GFN_THROW(BitSequence().log_reward(partial, std::span<double>(&log_r, 1)), "row 0 is not terminal");
}

}  // namespace
}  // namespace subtb::gfn
