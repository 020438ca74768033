// The card games as VLM tasks: VlmEnv's prompts, parsing fallbacks, [DONE], rewards,
// truncation, and the SFT data writer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "envs/vlm/card_tasks.h"
#include "envs/vlm/registry.h"
#include "envs/vlm/sft_dataset.h"
#include "envs/vlm/vlm_env.h"
#include "tensor/error.h"

namespace subtb::vlm {
namespace {

std::string answer(std::string_view action) { return R"({"thoughts": "...", "action": ")" + std::string(action) + "\"}"; }

// A NumberLine episode whose target is above the current number.
VlmEnv numberline_env(EnvOptions options, std::uint64_t* seed_out = nullptr) {
  VlmEnv env(make_task("numberline"), options);
  for (std::uint64_t seed = 0;; ++seed) {
    env.reset(seed);
    const auto& game = static_cast<const NumberLineTask&>(env.task()).game();
    if (game.target() - game.current() >= 2) {
      if (seed_out) *seed_out = seed;
      return env;
    }
  }
}

TEST(Registry, KnowsTheCardGames) {
  for (const std::string& name : task_names()) EXPECT_EQ(make_task(name)->name(), name);
  EXPECT_THROW(make_task("chess"), Error);
  EXPECT_THROW(make_task("numberline", {"stand17"}), Error);
  EXPECT_THROW(make_task("blackjack", {"card-counter"}), Error);
}

TEST(VlmEnv, Rl4vlmPromptAndRewards) {
  VlmEnv env = numberline_env({});
  const std::string prompt = env.prompt();
  EXPECT_NE(prompt.find("You are playing a game called number line."), std::string::npos);
  EXPECT_NE(prompt.find("\"current number\": \"x\""), std::string::npos);
  EXPECT_NE(prompt.find("\"action\": \"-\" or \"+\""), std::string::npos);
  EXPECT_EQ(prompt.find("History"), std::string::npos);
  EXPECT_EQ(prompt.find("[DONE]"), std::string::npos);
  EXPECT_EQ(env.actions(), (std::vector<std::string>{"-", "+"}));
  StepResult r = env.step_text(answer("+"));
  EXPECT_TRUE(r.valid());
  EXPECT_EQ(r.action, "+");
  EXPECT_EQ(r.reward, 0);
  r = env.step_text(answer("-"));
  EXPECT_EQ(r.reward, -1);
}

TEST(VlmEnv, GflowvlmPromptCarriesHistoryAndDone) {
  VlmEnv env = numberline_env({RewardMode::gflownet, PromptStyle::gflowvlm, true});
  const auto& game = static_cast<const NumberLineTask&>(env.task()).game();
  const int start = game.current();
  EXPECT_EQ(env.actions(), (std::vector<std::string>{"-", "+", "[DONE]"}));
  env.step_text(answer("+"));
  const std::string expected_history = "State 0: " + std::to_string(start) + " Action 1: \"+\" State 1: " +
                                       std::to_string(start + 1);
  EXPECT_EQ(env.history(), expected_history);
  const std::string prompt = env.prompt();
  EXPECT_NE(prompt.find("History: " + expected_history), std::string::npos);
  EXPECT_NE(prompt.find("Use [DONE] when you think you have completed the task."), std::string::npos);
  EXPECT_NE(prompt.find("\"action\": \"-\" or \"+\" or \"[DONE]\""), std::string::npos);
}

TEST(VlmEnv, GflownetRewardComesAtTheEnd) {
  VlmEnv env = numberline_env({RewardMode::gflownet, PromptStyle::gflowvlm, true});
  const auto& game = static_cast<const NumberLineTask&>(env.task()).game();
  const int distance = game.target() - game.current();
  EXPECT_DOUBLE_EQ(env.reward_if_done(), 100.0 / (distance + 1));
  StepResult r = env.step_text(answer("+"));
  EXPECT_EQ(r.reward, 0);  // not over yet
  EXPECT_DOUBLE_EQ(env.reward_if_done(), 100.0 / distance);
  r = env.step_text(answer("[DONE]"));  // stop one short (or more) of the target
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.action, "[DONE]");
  EXPECT_DOUBLE_EQ(r.reward, 100.0 / distance);
  EXPECT_FALSE(env.success());
  EXPECT_THROW(env.step_text(answer("+")), Error);
  // The expert reaches the target and earns the full 100.
  env.reset(3);
  while (!env.over()) r = env.step_text(answer(env.expert()->action));
  EXPECT_TRUE(env.success());
  EXPECT_DOUBLE_EQ(r.reward, 100.0);
}

TEST(VlmEnv, InvalidOutputsFallBackToARandomActionAndAreCounted) {
  VlmEnv env(make_task("blackjack"), {});
  int hits = 0, stands = 0;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    env.reset(seed);
    const StepResult r = env.step_text("I would rather not say");
    EXPECT_FALSE(r.valid());
    EXPECT_EQ(r.parse, ParseStatus::no_action);
    (r.action == "hit" ? hits : stands) += 1;
  }
  EXPECT_EQ(env.stats().invalid, 400);
  EXPECT_EQ(env.stats().steps, 400);
  EXPECT_GT(hits, 150);
  EXPECT_GT(stands, 150);
  // [DONE] is never the fallback.
  VlmEnv done_env(make_task("numberline"), {RewardMode::rl4vlm, PromptStyle::rl4vlm, true});
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    done_env.reset(seed);
    EXPECT_NE(done_env.step_text("\"action\": \"- +\"").action, "[DONE]");
  }
}

TEST(VlmEnv, PenaltyFallbackKeepsTheStateAndTruncates) {
  EnvOptions options;
  options.on_invalid = InvalidFallback::penalty;
  options.invalid_penalty = -2;
  options.max_steps = 3;
  VlmEnv env = numberline_env(options);
  const auto& game = static_cast<const NumberLineTask&>(env.task()).game();
  const int start = game.current();
  StepResult r = env.step_text("\"action\": \"+-\"");
  EXPECT_EQ(r.parse, ParseStatus::ambiguous);
  EXPECT_EQ(r.reward, -2);
  EXPECT_TRUE(r.action.empty());
  EXPECT_EQ(game.current(), start);
  EXPECT_EQ(env.history(), "State 0: " + std::to_string(start));
  env.step_text("");
  r = env.step_text("");
  EXPECT_TRUE(r.truncated);
  EXPECT_TRUE(env.over());
  EXPECT_EQ(env.stats().invalid, 3);
}

TEST(VlmEnv, StepLimitTruncates) {
  EnvOptions options;
  options.max_steps = 2;
  VlmEnv env = numberline_env(options);
  env.step(0);
  const StepResult r = env.step(0);
  EXPECT_TRUE(r.truncated);
  EXPECT_FALSE(r.terminated);
  EXPECT_THROW(env.step(0), Error);
}

TEST(BlackJackTask, AnUnfinishedHandForfeitsByDefault) {
  BlackJackTask task;
  task.reset(8);
  EXPECT_EQ(task.gflownet_reward(), 1e-10);
  task.step(0);  // stand: the hand is over
  EXPECT_DOUBLE_EQ(task.gflownet_reward(), std::max(1e-10, (task.game().result() + 1) * 10.0));
}

TEST(BlackJackTask, GflownetRewardsAndHistory) {
  BlackJackTask task(BlackJackTask::Expert::basic_strategy, BlackJackTask::EarlyStop::stand_expectation);
  task.reset(8);
  const double before = task.gflownet_reward();
  EXPECT_GT(before, 1e-10);
  EXPECT_LT(before, 20);
  task.step(0);  // stand
  const int r = task.game().result();
  EXPECT_DOUBLE_EQ(task.gflownet_reward(), std::max(1e-10, (r + 1) * 10.0));
  EXPECT_NE(task.state_text().find("dealer shows"), std::string::npos);
  // Standing on the whole deal: the mean of (r + 1) * 10 equals the mean of the
  // before-stand expectations.
  double sum_expected = 0, sum_actual = 0;
  constexpr int n = 40000;
  for (int seed = 0; seed < n; ++seed) {
    task.reset(static_cast<std::uint64_t>(seed));
    sum_expected += task.gflownet_reward();
    task.step(0);
    sum_actual += (task.game().result() + 1) * 10.0;
  }
  EXPECT_NEAR(sum_actual / n, sum_expected / n, 4.5 * 9.0 / std::sqrt(n));
}

TEST(BlackJackTask, ExpertsExplainTheirChoice) {
  BlackJackTask basic(BlackJackTask::Expert::basic_strategy), stand17(BlackJackTask::Expert::stand_at_17);
  basic.reset(2);
  stand17.reset(2);
  const auto a = basic.expert(), b = stand17.expert();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->answer["action"], a->action);
  EXPECT_NE(a->answer["thoughts"].get<std::string>().find("The dealer shows"), std::string::npos);
  EXPECT_NE(b->answer["thoughts"].get<std::string>().find("17"), std::string::npos);
}

TEST(PointsTask, PromptNamesTheFormulaAndTarget) {
  PointsTask task(cards::points24_config());
  task.reset(1);
  EXPECT_NE(task.description().find("four cards"), std::string::npos);
  EXPECT_NE(task.description().find("evaluates to 24"), std::string::npos);
  EXPECT_NE(task.description().find("'('"), std::string::npos);
  EXPECT_EQ(task.gflownet_reward(), 1e-10);
  while (!task.game().over()) {
    const auto e = task.expert();
    ASSERT_TRUE(e.has_value());
    const auto& actions = task.actions();
    task.step(static_cast<std::size_t>(std::find(actions.begin(), actions.end(), e->action) - actions.begin()));
  }
  EXPECT_TRUE(task.success());
  EXPECT_EQ(task.gflownet_reward(), 20.0);
  EXPECT_EQ(task.expert()->action, "[DONE]");
}

TEST(SftDataset, WritesImagesPromptsAndAnswers) {
  const auto dir = std::filesystem::temp_directory_path() / "subtb_test_sft";
  std::filesystem::remove_all(dir);
  SftOptions options;
  options.episodes = 5;
  options.seed = 100;
  options.env = {RewardMode::gflownet, PromptStyle::gflowvlm, true};
  const SftSummary s = write_sft_dataset(make_task("numberline"), options, dir);
  EXPECT_EQ(s.episodes, 5);
  EXPECT_EQ(s.successes, 5);
  std::ifstream index(dir / "index.jsonl");
  std::string line;
  int lines = 0, done = 0;
  while (std::getline(index, line)) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(std::filesystem::exists(dir / j["image"].get<std::string>()));
    const auto answer = nlohmann::json::parse(j["answer"].get<std::string>());
    EXPECT_EQ(answer["action"], j["action"]);
    EXPECT_TRUE(answer.contains("thoughts"));
    EXPECT_NE(j["prompt"].get<std::string>().find("History: State 0:"), std::string::npos);
    done += j["action"] == "[DONE]";
    ++lines;
  }
  EXPECT_EQ(lines, s.samples);
  EXPECT_EQ(done, 5);  // one [DONE] after each won episode
  const auto meta = nlohmann::json::parse(std::ifstream(dir / "dataset.json"));
  EXPECT_EQ(meta["samples"], s.samples);
  EXPECT_EQ(meta["task"], "numberline");
  // A second run into the same folder refuses to mix datasets.
  EXPECT_THROW(write_sft_dataset(make_task("numberline"), options, dir), Error);
  std::filesystem::remove_all(dir);
}

TEST(SftDataset, SuccessfulOnlyDropsLostEpisodes) {
  const auto dir = std::filesystem::temp_directory_path() / "subtb_test_sft_bj";
  std::filesystem::remove_all(dir);
  SftOptions options;
  options.episodes = 40;
  options.successful_only = true;
  const SftSummary s = write_sft_dataset(make_task("blackjack"), options, dir);
  EXPECT_LT(s.successes, 40);
  EXPECT_GT(s.successes, 5);
  EXPECT_EQ(s.written, s.successes);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace subtb::vlm
