// The household world as a VLM task: VlmEnv plays it through prompts and generated
// text, and the schematic picture follows the state.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "envs/household/render.h"
#include "envs/household/vlm_task.h"
#include "envs/vlm/task_texts.h"
#include "envs/vlm/vlm_env.h"
#include "tests/envs/test_household_fixtures.h"
#include "tests/support/test_util.h"

namespace subtb::household {
namespace {

using namespace testing;

vlm::VlmEnv make_env(vlm::RewardMode reward, Split split = Split::seen) {
  vlm::EnvOptions options;
  options.reward = reward;
  options.prompt = vlm::PromptStyle::gflowvlm;
  options.done_action = true;
  options.on_invalid = vlm::InvalidFallback::penalty;
  return vlm::VlmEnv(std::make_unique<HouseholdTask>(HouseholdTaskOptions{split, 35}), options);
}

const HouseholdTask& household(const vlm::VlmEnv& env) { return static_cast<const HouseholdTask&>(env.task()); }

TEST(HouseholdVlmTask, ExpertAnswersPlayAnEpisodeThroughGeneratedText) {
  for (Split split : {Split::seen, Split::unseen}) {
    for (std::uint64_t seed = 0; seed < 24; ++seed) {
      vlm::VlmEnv env = make_env(vlm::RewardMode::rl4vlm, split);
      env.reset(seed);
      EXPECT_EQ(env.max_steps(), 35);
      double total = 0;
      while (!env.over()) {
        const std::optional<vlm::ExpertAnswer> answer = env.expert();
        ASSERT_TRUE(answer.has_value());
        const vlm::StepResult r = env.step_text(answer->answer.dump());
        ASSERT_TRUE(r.valid()) << answer->answer.dump();
        EXPECT_EQ(r.action, answer->action);
        total += r.reward;
      }
      EXPECT_TRUE(env.success()) << seed;
      EXPECT_GE(total, 51.0);
      // After success the expert's last word is [DONE], as in GFlowVLM's SFT data.
      const std::optional<vlm::ExpertAnswer> done = env.expert();
      ASSERT_TRUE(done.has_value());
      EXPECT_EQ(done->action, "[DONE]");
    }
  }
}

TEST(HouseholdVlmTask, PromptShowsTheSceneTheTaskAndTheActions) {
  vlm::VlmEnv env = make_env(vlm::RewardMode::gflownet);
  env.reset(4);
  const HouseholdTask& task = household(env);
  const std::string& goal = task.world().scenario().goal_text;
  std::string prompt = env.prompt();
  EXPECT_NE(prompt.find("You are in the middle of a room. Looking quickly around you, you see"), std::string::npos);
  EXPECT_NE(prompt.find("Your task is to " + goal + "."), std::string::npos);
  EXPECT_NE(prompt.find("'go to "), std::string::npos);
  EXPECT_NE(prompt.find("Use [DONE] when you think you have completed the task."), std::string::npos);
  EXPECT_NE(prompt.find("\"thoughts\""), std::string::npos);
  EXPECT_EQ(env.actions().back(), "[DONE]");
  EXPECT_EQ(prompt.find("Welcome"), std::string::npos);  // the history keeps the room, not the banner

  const std::string command = env.expert()->action;
  env.step_text("{\"thoughts\": \"...\", \"action\": \"" + command + "\"}");
  EXPECT_NE(env.history().find("Action 1: \"" + command + "\" State 1: " + task.state_text()), std::string::npos);
  prompt = env.prompt();
  EXPECT_NE(prompt.find("['" + task.state_text() + "']"), std::string::npos);
}

TEST(HouseholdVlmTask, PromptShowsTheLastStepsOfTheHistory) {
  vlm::VlmEnv env = make_env(vlm::RewardMode::gflownet);
  EXPECT_EQ(env.history_window(), 3);
  env.reset(4);
  std::vector<std::string> states{household(env).state_text()};
  for (int t = 1; t <= 5; ++t) {
    env.step_text("{\"action\": \"" + env.expert()->action + "\"}");
    ASSERT_FALSE(env.over());
    states.push_back(household(env).state_text());
    const std::string prompt = env.prompt();
    // The whole history stays the state; the prompt shows States t-3 .. t.
    EXPECT_NE(env.history().find("State 0: " + states[0]), std::string::npos);
    EXPECT_EQ(prompt.find("History: State 0: ") != std::string::npos, t <= 3) << t;
    EXPECT_EQ(prompt.find("History: ... State " + std::to_string(t - 3) + ": ") != std::string::npos, t > 3) << t;
    const std::string last = "State " + std::to_string(t) + ": " + states[t];
    EXPECT_NE(prompt.find(last + "\nUse [DONE]"), std::string::npos) << t;
    if (t > 3) {
      EXPECT_EQ(prompt.find("Action " + std::to_string(t - 3) + ":"), std::string::npos) << t;
    }
  }
  // A window of 0 shows everything.
  vlm::EnvOptions all = env.options();
  all.history_window = 0;
  vlm::VlmEnv whole(std::make_unique<HouseholdTask>(), all);
  whole.reset(4);
  for (int t = 1; t <= 5; ++t) whole.step_text("{\"action\": \"" + whole.expert()->action + "\"}");
  EXPECT_NE(whole.prompt().find("History: " + whole.history() + "\n"), std::string::npos);
  EXPECT_EQ(whole.history(), env.history());
}

TEST(HouseholdVlmTask, ExpertTaskTextsAreDeterministicPromptsAndAnswers) {
  const std::vector<std::string> texts = vlm::expert_task_texts(1, 7);
  EXPECT_EQ(texts, vlm::expert_task_texts(1, 7));
  ASSERT_EQ(texts.size() % 2, 0u);
  bool household_prompt = false;
  for (size_t i = 0; i < texts.size(); i += 2) {
    household_prompt |= texts[i].starts_with("You are an expert in the ALFRED Embodied Environment.");
    EXPECT_TRUE(nlohmann::json::parse(texts[i + 1]).contains("action")) << texts[i + 1];
  }
  EXPECT_TRUE(household_prompt);
  EXPECT_THROW_MSG(vlm::expert_task_texts(-1, 0), "expert_task_texts", "-1");
}

TEST(HouseholdVlmTask, GflownetRewardCountsGoalAndSubgoal) {
  auto task = std::make_unique<HouseholdTask>();
  std::uint64_t seed = 0;
  for (task->reset(seed); task->world().conditions_total() < 3;) task->reset(++seed);  // a clean/heat/cool task
  EXPECT_EQ(task->gflownet_reward(), 1e-10);
  bool saw_subgoal = false;
  while (!task->success()) {
    const std::vector<std::string> actions = task->actions();
    const auto at = std::find(actions.begin(), actions.end(), task->expert()->action);
    ASSERT_NE(at, actions.end());
    task->step(static_cast<std::size_t>(at - actions.begin()));
    if (task->success()) break;
    EXPECT_EQ(task->gflownet_reward(), task->world().best_conditions_met() > 0 ? 1.0 : 1e-10);
    saw_subgoal |= task->gflownet_reward() == 1.0;
  }
  EXPECT_TRUE(saw_subgoal);
  EXPECT_EQ(task->gflownet_reward(), 51.0);
}

TEST(HouseholdVlmTask, StepLimitIsTheEnvs) {
  vlm::VlmEnv env = make_env(vlm::RewardMode::gflownet);
  env.reset(1);
  int steps = 0;
  while (!env.over()) {
    const vlm::StepResult r = env.step_text("{\"action\": \"look\"}");
    ++steps;
    EXPECT_EQ(r.reward, r.over() ? 1e-10 : 0.0);
  }
  EXPECT_EQ(steps, 35);
  EXPECT_FALSE(env.success());
}

TEST(HouseholdVlmTask, Names) {
  EXPECT_EQ(HouseholdTask().name(), "household");
  EXPECT_EQ(HouseholdTask(HouseholdTaskOptions{Split::unseen, 50}).name(), "household-unseen");
  EXPECT_EQ(HouseholdTask(HouseholdTaskOptions{Split::unseen, 50}).default_max_steps(), 50);
}

// Pixels that differ between two pictures inside a rectangle.
int differing_pixels(const render::Canvas& a, const render::Canvas& b, int x0, int y0, int x1, int y1) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += !(a.pixel(x, y) == b.pixel(x, y));
  return n;
}

TEST(HouseholdRender, PictureFollowsTheState) {
  World world;
  world.reset(heat_mug_kitchen());
  render::Canvas middle, closed, open, holding, again;
  render_location(world, middle);
  EXPECT_EQ(middle.width(), kImageSize);
  EXPECT_EQ(middle.height(), kImageSize);

  world.step("go to cabinet 1");
  render_location(world, closed);
  world.step("open cabinet 1");
  render_location(world, open);
  world.step("take mug 1 from cabinet 1");
  render_location(world, holding);
  render_location(world, again);

  constexpr int kBody = 44, kBar = 262;
  EXPECT_GT(differing_pixels(middle, closed, 0, 0, kImageSize, 34), 50);          // the title
  EXPECT_GT(differing_pixels(closed, open, 0, kBody, kImageSize, kBar), 5000);    // doors vs interior
  EXPECT_GT(differing_pixels(open, holding, 0, kBody, kImageSize, kBar), 50);     // the mug left
  EXPECT_GT(differing_pixels(open, holding, 0, kBar, kImageSize, kImageSize), 50);  // and is held
  EXPECT_EQ(differing_pixels(closed, open, 0, kBar, kImageSize, kImageSize), 0);
  EXPECT_EQ(differing_pixels(holding, again, 0, 0, kImageSize, kImageSize), 0);  // deterministic
}

TEST(HouseholdRender, MarksHotObjectsAndLitLamps) {
  World world;
  world.reset(heat_mug_kitchen());
  world.step("go to countertop 1");
  world.step("take apple 1 from countertop 1");
  render::Canvas plain, hot;
  render_location(world, plain);
  world.step("go to microwave 1");
  world.step("heat apple 1 with microwave 1");
  world.step("go to countertop 1");
  render_location(world, hot);
  EXPECT_GT(differing_pixels(plain, hot, 0, 262, kImageSize, kImageSize), 10);

  World room;
  room.reset(bedroom(LampType::desklamp));
  room.step("go to desk 1");
  render::Canvas off, on;
  render_location(room, off);
  room.step("use desklamp 1");
  render_location(room, on);
  EXPECT_GT(differing_pixels(off, on, 0, 44, kImageSize, 262), 100);
}

}  // namespace
}  // namespace subtb::household
