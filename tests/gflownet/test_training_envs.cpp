// Training on every environment with every objective: which objective an environment
// supports, that each one learns on a small space (the exact L1 or log Z), the metrics
// (exact and importance-estimated log p(x), Spearman, modes, top-k over unique objects),
// and a run folder on a space that is not enumerated.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "envs/gfn/bit_sequence.h"
#include "envs/gfn/exact.h"
#include "envs/gfn/hypergrid.h"
#include "envs/gfn/set_generation.h"
#include "gflownet/discovery.h"
#include "gflownet/evaluation.h"
#include "gflownet/trainer.h"
#include "gflownet/training_run.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

using gfn::BitSequence;
using gfn::HyperGrid;
using gfn::SetGeneration;

TrainerConfig small_config(Objective objective, uint64_t seed = 0) {
  TrainerConfig c;
  c.objective = objective;
  c.hidden = 32;
  c.layers = 2;
  c.batch = 16;
  c.seed = seed;
  return c;
}

// Six elements with energies 0 .. 2.5, sets of three: C(6, 3) = 20 sets.
SetGeneration tiny_sets() { return SetGeneration({"tiny", 6, 3, {0.0, 0.5, 1.0, 1.5, 2.0, 2.5}}); }

BitSequence small_bits(gfn::BitOrder order = gfn::BitOrder::append) {
  gfn::BitSequenceConfig c;
  c.length = 8;
  c.word_bits = 2;
  c.num_modes = 4;
  c.order = order;
  c.temperature = 0.5;
  return BitSequence(c);
}

TEST(Objectives, NamesRoundTripAndUnsupportedPairsAreNamed) {
  for (const char* name : {"tb", "db", "subtb", "fldb", "flsubtb", "fm", "mdb", "zvar"}) {
    EXPECT_EQ(to_string(parse_objective(name)), name);
  }
  EXPECT_THROW_MSG(parse_objective("fl"), "objective", "'fl'", "fldb, flsubtb, fm, mdb or zvar");
  const BitSequence bits = small_bits();
  const SetGeneration sets = tiny_sets();
  EXPECT_THROW_MSG(Trainer(bits, small_config(Objective::fldb)), "fldb", bits.name(), "intermediate rewards");
  EXPECT_THROW_MSG(Trainer(bits, small_config(Objective::flsubtb)), "flsubtb", "intermediate rewards");
  EXPECT_THROW_MSG(Trainer(sets, small_config(Objective::mdb)), "mdb", sets.name(), "terminate");
  EXPECT_THROW_MSG(Trainer(bits, small_config(Objective::mdb)), "mdb", "terminate");
  EXPECT_NO_THROW(Trainer(sets, small_config(Objective::flsubtb)));
  EXPECT_NO_THROW(Trainer(HyperGrid({2, 4, 0.1}), small_config(Objective::mdb)));
  TrainerConfig replay = small_config(Objective::tb);
  replay.replay.fraction = 0.5;
  EXPECT_THROW_MSG(Trainer(bits, replay), "Trainer", "replay buffer");
  replay.replay = {10, 0.6, 0.4, ReplayPriority::uniform};
  EXPECT_THROW_MSG(Trainer(bits, replay), "Trainer", "sum below 1");
}

struct LearningCase {
  Objective objective;
  ReplayConfig replay = {};
  const char* name = "";
};

class EveryObjective : public ::testing::TestWithParam<LearningCase> {};

// HyperGrid(2, 6, R0 = 0.1) has 36 terminal states and an exit from every state, so
// every objective applies. An untrained policy is about 0.8 away from the target
// (sum-L1); 250 steps bring each objective to 0.05 - 0.1 (observed), log Z within 0.04.
TEST_P(EveryObjective, LearnsTheHyperGridTarget) {
  const HyperGrid env({2, 6, 0.1});
  TrainerConfig config = small_config(GetParam().objective);
  config.sampling.epsilon = 0.1;
  config.lr = 3e-3;
  config.replay = GetParam().replay;
  Trainer trainer(env, config);
  const PolicyEvaluator evaluator(env);
  const double initial = evaluator.evaluate(trainer.policy(), 0, {}).l1;
  for (int i = 0; i < 250; ++i) trainer.step();
  const PolicyMetrics m = evaluator.evaluate(trainer.policy(), trainer.learned_log_z(), {});
  EXPECT_GT(initial, 0.5);
  EXPECT_LT(m.l1, 0.2) << "initial " << initial;
  EXPECT_LT(std::abs(m.log_z - m.log_z_true), 0.2) << m.log_z << " vs " << m.log_z_true;
  EXPECT_GT(m.spearman, 0.5);
}

INSTANTIATE_TEST_SUITE_P(
    Objectives, EveryObjective,
    ::testing::Values(LearningCase{Objective::fldb}, LearningCase{Objective::flsubtb}, LearningCase{Objective::fm},
                      LearningCase{Objective::mdb}, LearningCase{Objective::zvar},
                      LearningCase{Objective::tb, {32, 0.5, 0.0, ReplayPriority::uniform}, "_replay"},
                      LearningCase{Objective::subtb, {64, 0.25, 0.25, ReplayPriority::reward}, "_replay_backward"},
                      LearningCase{Objective::db, {64, 0.0, 0.5, ReplayPriority::reward}, "_backward"}),
    [](const auto& info) { return std::string(to_string(info.param.objective)) + info.param.name; });

// Set generation is not enumerated, so the learned log Z against the dynamic program's is
// the measure: FL-DB, FL-SubTB and TB get within 0.3 of it (-0.1382) in 200 steps.
TEST(SetGenerationTraining, ForwardLookingAndTrajectoryBalanceLearnLogZ) {
  const SetGeneration env = tiny_sets();
  for (Objective o : {Objective::fldb, Objective::tb, Objective::flsubtb}) {
    SCOPED_TRACE(std::string(to_string(o)));
    TrainerConfig config = small_config(o, 2);
    config.sampling.epsilon = 0.25;
    config.lr = 3e-3;
    Trainer trainer(env, config);
    for (int i = 0; i < 200; ++i) trainer.step();
    EXPECT_NEAR(trainer.learned_log_z(), env.log_partition(), 0.3);
  }
}

// The importance estimate of log p(x) over backward trajectories agrees with the exact
// terminal distribution the policy induces (any-position bit strings: four words, 24 orders).
TEST(Evaluation, ImportanceEstimateOfLogPMatchesTheExactValue) {
  const BitSequence env = small_bits(gfn::BitOrder::any_position);
  Generator init(3);
  Policy policy({env.encoding_dim(), env.num_actions(), env.num_backward_actions(), 16, 1, BackwardPolicy::uniform},
                init);
  const std::vector<double> induced = gfn::policy_terminal_distribution(env, forward_probabilities(env, policy));
  std::vector<std::int32_t> x;
  std::vector<double> exact;
  for (std::int64_t i : {0, 37, 200, 255}) {
    std::vector<std::int32_t> s(static_cast<size_t>(env.state_dim()));
    env.terminal_state(i, s.data());
    x.insert(x.end(), s.begin(), s.end());
    exact.push_back(std::log(induced[static_cast<size_t>(i)]));
  }
  Generator gen(5);
  const std::vector<double> estimate = estimate_log_probabilities(env, policy, x, 512, gen);
  for (size_t i = 0; i < exact.size(); ++i) EXPECT_NEAR(estimate[i], exact[i], 0.03) << i;
}

TEST(Evaluation, ComputesEachMetricWhereTheEnvironmentAllowsIt) {
  // Enumerable: exact L1 and JSD in their ranges, an exact Spearman over every terminal state.
  const BitSequence bits = small_bits();
  Generator init(1);
  Policy policy({bits.encoding_dim(), bits.num_actions(), bits.num_backward_actions(), 16, 1, BackwardPolicy::uniform},
                init);
  const PolicyEvaluator exact(bits);
  ASSERT_TRUE(exact.exact());
  const PolicyMetrics m = exact.evaluate(policy, 0.0, {});
  EXPECT_GT(m.l1, 0.0);
  EXPECT_LE(m.l1, 2.0);
  EXPECT_GT(m.jsd, 0.0);
  EXPECT_LE(m.jsd, std::log(2.0));
  EXPECT_TRUE(m.spearman_exact);
  EXPECT_EQ(m.test_states, 256);
  EXPECT_NEAR(m.log_z_true, gfn::log_partition_by_enumeration(bits), 1e-12);

  // Not enumerated: NaN distances, the dynamic program's log Z, a Spearman on uniform rollouts.
  const SetGeneration sets = tiny_sets();
  Policy set_policy(
      {sets.encoding_dim(), sets.num_actions(), sets.num_backward_actions(), 16, 1, BackwardPolicy::uniform}, init);
  EvalOptions options;
  options.random_test_states = 40;
  options.importance_samples = 4;
  const PolicyEvaluator sampled(sets, options);
  EXPECT_FALSE(sampled.exact());
  const PolicyMetrics s = sampled.evaluate(set_policy, 0.0, {});
  EXPECT_TRUE(std::isnan(s.l1) && std::isnan(s.jsd) && std::isnan(s.empirical_l1));
  EXPECT_NEAR(s.log_z_true, sets.log_partition(), 1e-12);
  EXPECT_EQ(s.test_states, 40);
  EXPECT_FALSE(s.spearman_exact);
  EXPECT_TRUE(std::isfinite(s.spearman));
}

TEST(Discovery, KeepsTheTopKOfTheUniqueObjectsAndTheModesFound) {
  gfn::BitSequenceConfig c;
  c.length = 8;
  c.word_bits = 4;
  c.num_modes = 3;
  c.mode_threshold = 1;
  const BitSequence env(c);
  const int S = env.state_dim();
  Discovery discovery(env, 5);
  // Every string twice, in a scrambled order; brute force over the unique ones.
  std::vector<std::int32_t> states;
  std::vector<double> all_log_r;
  std::set<std::int64_t> modes;
  for (int rep = 0; rep < 2; ++rep) {
    for (std::int64_t i = 0; i < 256; ++i) {
      std::vector<std::int32_t> s(static_cast<size_t>(S));
      env.terminal_state((i * 97 + rep * 13) % 256, s.data());
      states.insert(states.end(), s.begin(), s.end());
    }
  }
  for (size_t first = 0; first < states.size(); first += static_cast<size_t>(S) * 32) {
    discovery.add({states.data() + first, static_cast<size_t>(S) * 32});
  }
  for (std::int64_t i = 0; i < 256; ++i) {
    std::vector<std::int32_t> s(static_cast<size_t>(S));
    env.terminal_state(i, s.data());
    double log_r = 0;
    env.log_reward(s, {&log_r, 1});
    all_log_r.push_back(log_r);
    std::int64_t id = 0;
    env.mode_ids(s, {&id, 1});
    if (id >= 0) modes.insert(id);
  }
  std::sort(all_log_r.rbegin(), all_log_r.rend());
  double mean_log_r = 0;
  for (int i = 0; i < 5; ++i) mean_log_r += all_log_r[static_cast<size_t>(i)] / 5;
  EXPECT_EQ(discovery.held(), 5);
  EXPECT_NEAR(discovery.mean_log_reward(), mean_log_r, 1e-12);
  EXPECT_EQ(discovery.modes_found(), static_cast<std::int64_t>(modes.size()));
  EXPECT_EQ(discovery.modes_found(), 3);

  Discovery restored(env, 5);
  restored.restore(nlohmann::json::parse(discovery.to_json().dump()));
  EXPECT_EQ(restored.mean_log_reward(), discovery.mean_log_reward());
  EXPECT_EQ(restored.modes_found(), discovery.modes_found());
  EXPECT_THROW_MSG(Discovery(env, 2).restore(discovery.to_json()), "Discovery", "at most 2");
}

TEST(TrainingRun, RecordsDiscoveryMetricsOnASpaceItDoesNotEnumerate) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("subtb_training_envs_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const SetGeneration env = tiny_sets();
  Trainer trainer(env, small_config(Objective::fldb));
  RunOptions options;
  options.steps = 6;
  options.eval_every = 3;
  options.out = dir;
  options.eval.top_k = 4;
  options.eval.random_test_states = 20;
  options.eval.importance_samples = 2;
  const std::vector<EvalRecord> records = run_training(env, trainer, options);
  ASSERT_EQ(records.size(), 2u);
  std::ifstream metrics(dir / "metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(metrics, line));
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_TRUE(j.at("l1").is_null());
  EXPECT_EQ(j.at("top_k").get<int64_t>(), 4);
  EXPECT_TRUE(j.at("top_k_reward").is_number());
  EXPECT_EQ(j.at("test_states").get<int64_t>(), 20);
  EXPECT_NEAR(j.at("log_z_true").get<double>(), env.log_partition(), 1e-9);
  // The best four of at most 48 sampled sets lie among the best four sets of all.
  EXPECT_LE(records[1].metrics.top_k_reward, std::exp(-0.0 - 0.5 - 1.0) + 1e-12);
  EXPECT_GE(records[1].metrics.top_k_reward, records[0].metrics.top_k_reward);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace subtb::gflownet
