// GFlowVLM's evaluation (gflownet/vlm/evaluation.h): Div@N's arithmetic on hand-made
// episodes, the JSON the reproduction reads, and evaluations of a micro VLM: the invalid
// fallbacks, per-category rates, determinism and the seeds' range.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "envs/household/vlm_task.h"
#include "envs/vlm/card_tasks.h"
#include "envs/vlm/registry.h"
#include "gflownet/vlm/evaluation.h"
#include "nn/tokenizer/special_tokens.h"
#include "tests/gflownet/vlm_micro_model.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

using testing::micro_config;
using testing::micro_tokenizer;

using subtb::vlm::InvalidFallback;

// Training's environments (vlm_trainer.cpp) with a 4-step limit.
subtb::vlm::EnvOptions env_options() {
  return {.prompt = subtb::vlm::PromptStyle::gflowvlm, .done_action = true, .max_steps = 4};
}

EvalOptions eval_options(InvalidFallback on_invalid) {
  EvalOptions o;
  o.episodes = 8;
  o.first_seed = 20;
  o.rollout = {.max_new_tokens = 8, .temperature = 1.0};
  o.on_invalid = on_invalid;
  return o;
}

// NumberLine with a category of its own: the parity of the reset seed.
class ParityNumberLine : public subtb::vlm::NumberLineTask {
 public:
  void reset(std::uint64_t seed) override {
    parity_ = seed % 2 == 0 ? "even" : "odd";
    NumberLineTask::reset(seed);
  }
  std::string category() const override { return parity_; }

 private:
  std::string parity_;
};

TaskFactory numberline() {
  return [] { return subtb::vlm::make_task("numberline"); };
}

Episode episode(std::uint64_t seed, std::vector<std::string> actions, bool success) {
  Episode e;
  e.seed = seed;
  e.success = success;
  for (std::string& a : actions) e.steps.push_back({{}, {}, {}, std::move(a)});
  return e;
}

TEST(GflowVlmEvaluation, DivAtNCountsDistinctSuccessfulTrajectoriesOverTasksWithSuccess) {
  const std::vector<Episode> episodes = {
      // Task 1: three successes, two of them the same trajectory; a failure along a third.
      episode(1, {"+", "+"}, true), episode(1, {"+", "+"}, true), episode(1, {"-", "+", "+"}, true),
      episode(1, {"-"}, false),
      // Task 2: no success; it does not enter the mean.
      episode(2, {"+"}, false), episode(2, {"-"}, false), episode(2, {}, false), episode(2, {"+"}, false),
      // Task 3: one trajectory, twice; an invalid output ("" : nothing moved) is no action.
      episode(3, {"+"}, true), episode(3, {"", "+"}, true), episode(3, {"-"}, false), episode(3, {"-"}, false)};
  const DivAtN d = div_at_n(episodes, 4);
  EXPECT_EQ(d.n, 4);
  EXPECT_EQ(d.tasks, 3);
  EXPECT_EQ(d.tasks_with_success, 2);
  ASSERT_TRUE(d.value.has_value());
  EXPECT_DOUBLE_EQ(*d.value, (2.0 + 1.0) / 2.0);

  const DivAtN none = div_at_n({episode(5, {"+"}, false), episode(5, {"-"}, false)}, 2);
  EXPECT_EQ(none.tasks, 1);
  EXPECT_EQ(none.tasks_with_success, 0);
  EXPECT_FALSE(none.value.has_value());

  EXPECT_THROW_MSG(div_at_n({episode(1, {"+"}, true), episode(2, {"+"}, true), episode(2, {"-"}, true)}, 2),
                   "task seed 1 has 1 samples, expected 2");
  EXPECT_THROW_MSG(div_at_n({}, 0), "n 0 must be positive");
}

TEST(GflowVlmEvaluation, JsonCarriesTheContractsKeys) {
  EvalMetrics m;
  m.episodes = 4, m.success_rate = 0.5, m.temperature = 0.2;
  nlohmann::json j = to_json(m);
  EXPECT_TRUE(j["by_category"].is_object() && j["by_category"].empty());
  EXPECT_FALSE(j.contains("div_at_n"));
  for (const char* key : {"episodes", "success_rate", "invalid_rate", "mean_reward", "mean_steps", "temperature"})
    EXPECT_TRUE(j.contains(key)) << key;

  m.by_category["pick_and_place_simple"] = {.episodes = 3, .success_rate = 1.0 / 3.0};
  m.div_at_n = DivAtN{.n = 4, .tasks = 8, .tasks_with_success = 0, .value = std::nullopt};
  j = to_json(m);
  EXPECT_EQ(j["by_category"]["pick_and_place_simple"]["episodes"], 3);
  EXPECT_DOUBLE_EQ(j["by_category"]["pick_and_place_simple"]["success_rate"].get<double>(), 1.0 / 3.0);
  EXPECT_EQ(j["div_at_n"]["n"], 4);
  EXPECT_EQ(j["div_at_n"]["tasks"], 8);
  EXPECT_EQ(j["div_at_n"]["tasks_with_success"], 0);
  EXPECT_TRUE(j["div_at_n"]["value"].is_null());
  m.div_at_n->value = 1.25;
  EXPECT_DOUBLE_EQ(to_json(m)["div_at_n"]["value"].get<double>(), 1.25);
}

// The untrained micro model writes no "action" key in 8 tokens, so every answer is invalid
// and the fallback alone decides where an episode goes.
TEST(GflowVlmEvaluation, InvalidOutputsMoveNothingUnderPenaltyAndPlayRandomlyUnderRandomAction) {
  manual_seed(1);
  nn::VisionLanguageModel model(micro_config());
  const EvalOptions options = eval_options(InvalidFallback::penalty);

  double start_reward = 0, start_success = 0, random_reward = 0, random_success = 0, random_steps = 0;
  for (int64_t i = 0; i < options.episodes; ++i) {
    const std::uint64_t seed = options.first_seed + static_cast<std::uint64_t>(i);
    subtb::vlm::NumberLineTask start;
    start.reset(seed);
    start_reward += start.gflownet_reward();
    start_success += start.success() ? 1 : 0;
    subtb::vlm::EnvOptions random_env = env_options();
    random_env.on_invalid = InvalidFallback::random_action;
    subtb::vlm::VlmEnv env(subtb::vlm::make_task("numberline"), random_env);
    env.reset(seed);
    while (!env.over()) env.step_text("no action here");
    random_reward += env.reward_if_done();
    random_success += env.success() ? 1 : 0;
    random_steps += env.steps();
  }
  const double n = static_cast<double>(options.episodes);

  const EvalMetrics penalty = evaluate_policy(model, micro_tokenizer(), numberline(), env_options(), options);
  ASSERT_EQ(penalty.invalid_rate, 1.0);
  // Invalid steps count toward the 4-step limit; an untrained model's first token is now and
  // then [DONE], which ends an episode early (here one of the eight, after three steps).
  EXPECT_LE(penalty.mean_steps, 4.0);
  EXPECT_GE(penalty.mean_steps, 3.5);
  EXPECT_DOUBLE_EQ(penalty.success_rate, start_success / n);
  EXPECT_NEAR(penalty.mean_reward, start_reward / n, 1e-12);

  const EvalMetrics random = evaluate_policy(model, micro_tokenizer(), numberline(), env_options(),
                                             eval_options(InvalidFallback::random_action));
  ASSERT_EQ(random.invalid_rate, 1.0);
  EXPECT_DOUBLE_EQ(random.mean_steps, random_steps / n);
  EXPECT_DOUBLE_EQ(random.success_rate, random_success / n);
  EXPECT_NEAR(random.mean_reward, random_reward / n, 1e-12);
  // Random play is credited with successes that a model writing nothing usable did not earn.
  EXPECT_GT(random.success_rate, penalty.success_rate);
}

TEST(GflowVlmEvaluation, CategoryRatesAddUpToTheOverallRate) {
  manual_seed(2);
  nn::VisionLanguageModel model(micro_config());
  const TaskFactory parity = [] { return std::make_unique<ParityNumberLine>(); };
  EvalOptions options = eval_options(InvalidFallback::random_action);
  options.episodes = 9;
  const EvalMetrics m = evaluate_policy(model, micro_tokenizer(), parity, env_options(), options);
  ASSERT_EQ(m.by_category.size(), 2u);
  EXPECT_EQ(m.by_category.at("even").episodes, 5);  // seeds 20, 22, ..., 28
  EXPECT_EQ(m.by_category.at("odd").episodes, 4);
  double successes = 0;
  for (const auto& [name, c] : m.by_category) successes += c.success_rate * static_cast<double>(c.episodes);
  EXPECT_GT(m.success_rate, 0.0);
  EXPECT_NEAR(successes / 9.0, m.success_rate, 1e-12);
}

TEST(GflowVlmEvaluation, HouseholdUnseenReportsTaskTypes) {
  manual_seed(3);
  nn::VisionLanguageModel model(micro_config());
  const TaskFactory unseen = [] { return subtb::vlm::make_task("household-unseen"); };
  EvalOptions options = eval_options(InvalidFallback::penalty);
  options.episodes = 6;
  subtb::vlm::EnvOptions env = env_options();
  env.max_steps = 1;
  const EvalMetrics m = evaluate_policy(model, micro_tokenizer(), unseen, env, options);

  std::map<std::string, int64_t> expected;
  for (int64_t i = 0; i < options.episodes; ++i) {
    household::HouseholdTask task({.split = household::Split::unseen});
    task.reset(options.first_seed + static_cast<std::uint64_t>(i));
    ++expected[task.category()];
  }
  ASSERT_EQ(m.by_category.size(), expected.size());
  int64_t episodes = 0;
  for (const auto& [name, c] : m.by_category) {
    EXPECT_EQ(c.episodes, expected.at(name)) << name;
    episodes += c.episodes;
  }
  EXPECT_EQ(episodes, options.episodes);
  const std::vector<std::string> names = {"pick_and_place_simple",          "look_at_obj_in_light",
                                          "pick_clean_then_place_in_recep", "pick_heat_then_place_in_recep",
                                          "pick_cool_then_place_in_recep",  "pick_two_obj_and_place"};
  for (const auto& [name, c] : m.by_category)
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
}

TEST(GflowVlmEvaluation, IsDeterministicAndDivAtNLeavesTheOtherMetricsAlone) {
  manual_seed(4);
  nn::VisionLanguageModel model(micro_config());
  model.train();
  EvalOptions options = eval_options(InvalidFallback::random_action);
  options.episodes = 4;
  const nlohmann::json plain = to_json(evaluate_policy(model, micro_tokenizer(), numberline(), env_options(), options));
  EXPECT_TRUE(model.is_training());  // evaluation restores the mode it found
  EXPECT_TRUE(plain["by_category"].is_object() && plain["by_category"].empty());  // the card games have none

  options.div_n = 3;
  options.div_tasks = 3;
  const nlohmann::json first = to_json(evaluate_policy(model, micro_tokenizer(), numberline(), env_options(), options));
  const nlohmann::json again = to_json(evaluate_policy(model, micro_tokenizer(), numberline(), env_options(), options));
  EXPECT_EQ(first, again);
  nlohmann::json without_div = first;
  without_div.erase("div_at_n");
  EXPECT_EQ(without_div, plain);
  EXPECT_EQ(first["div_at_n"]["n"], 3);
  EXPECT_EQ(first["div_at_n"]["tasks"], 3);
  const int64_t with_success = first["div_at_n"]["tasks_with_success"].get<int64_t>();
  EXPECT_LE(with_success, 3);
  if (with_success > 0) {
    EXPECT_GE(first["div_at_n"]["value"].get<double>(), 1.0);
    EXPECT_LE(first["div_at_n"]["value"].get<double>(), 3.0);
  } else {
    EXPECT_TRUE(first["div_at_n"]["value"].is_null());
  }

  options = {.episodes = 1, .rollout = {.max_new_tokens = 1, .greedy = true}};
  EXPECT_EQ(evaluate_policy(model, micro_tokenizer(), numberline(), env_options(), options).temperature, 0.0);
}

TEST(GflowVlmEvaluation, OptionsKeepEvaluationSeedsBelowTrainingSeeds) {
  EvalOptions o = eval_options(InvalidFallback::penalty);
  EXPECT_NO_THROW(o.validate());
  o.first_seed = kFirstTrainingSeed - 4;
  EXPECT_THROW_MSG(o.validate(), "reach the training seeds");
  o.first_seed = 0;
  o.div_n = 2;
  o.div_tasks = 0;
  EXPECT_THROW_MSG(o.validate(), "div_tasks 0 positive when div_n is");
  o = eval_options(InvalidFallback::penalty);
  o.rollout.temperature = 0;
  EXPECT_THROW_MSG(o.validate(), "temperature 0 must be positive unless decoding is greedy");
}

TEST(GflowVlmEvaluation, OutOfDistributionVariantsByName) {
  EXPECT_EQ(subtb::vlm::ood_task_name("numberline"), "numberline-ood");
  EXPECT_EQ(subtb::vlm::ood_task_name("household"), "household-unseen");
  EXPECT_FALSE(subtb::vlm::ood_task_name("blackjack").has_value());
  EXPECT_FALSE(subtb::vlm::ood_task_name("numberline-ood").has_value());
}

}  // namespace
}  // namespace subtb::gflownet::vlm
