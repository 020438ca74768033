// The GFlowVLM loop on the household task with a micro VLM: the expert's episodes fit the
// context, the model's rollouts give well-formed episodes, and one iteration of SFT and of
// Var-TB trains.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "envs/vlm/registry.h"
#include "gflownet/vlm/episode_images.h"
#include "gflownet/vlm/rollout.h"
#include "gflownet/vlm/vlm_trainer.h"
#include "nn/tokenizer/special_tokens.h"
#include "tensor/ops.h"
#include "tests/gflownet/vlm_micro_model.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

using testing::micro_config;
using testing::micro_tokenizer;

constexpr int64_t kAnswerTokens = 96;  // the household tasks' default answer budget

subtb::vlm::EnvOptions env_options(int max_steps) {
  return {.prompt = subtb::vlm::PromptStyle::gflowvlm, .done_action = true, .max_steps = max_steps};
}

void expect_well_formed(const Episode& e, int max_steps) {
  EXPECT_NO_THROW(check_episode(e));
  EXPECT_LE(static_cast<int>(e.steps.size()), max_steps);
  ASSERT_EQ(e.log_rewards.size(), e.steps.size() + 1);
  for (double r : e.log_rewards) {
    EXPECT_TRUE(std::isfinite(r));
    EXPECT_LE(r, std::log(51.0) + 1e-12);  // the household R is at most 50 + 1
  }
  for (const EpisodeStep& s : e.steps) {
    EXPECT_EQ(s.roles.size(), s.answer.size());
    EXPECT_FALSE(s.action.empty());
    EXPECT_NE(s.action, "[DONE]");
    EXPECT_EQ(s.prompt.front(), nn::kBosToken);
  }
}

TEST(GflowVlmHousehold, ExpertEpisodesFitTheContextAndSucceed) {
  manual_seed(1);
  const nn::VisionLanguageModel model(micro_config());
  const nn::Tokenizer& tok = micro_tokenizer();
  for (const char* task : {"household", "household-unseen"}) {
    subtb::vlm::VlmEnv env(subtb::vlm::make_task(task), env_options(15));
    for (std::uint64_t seed = 0; seed < 6; ++seed) {
      const std::optional<Episode> expert = play_expert_episode(env, tok, model, seed);
      ASSERT_TRUE(expert.has_value());
      expect_well_formed(*expert, 15);
      // Cut by nothing: the expert's episode ends in the goal, as without a model.
      EXPECT_TRUE(expert->success) << task << " seed " << seed;
      EXPECT_NEAR(expert->log_rewards.back(), std::log(51.0), 1e-12);
      for (const EpisodeStep& s : expert->steps) {
        EXPECT_LE(static_cast<int64_t>(s.answer.size()), kAnswerTokens);
        EXPECT_LE(static_cast<int64_t>(expand_prompt(model, s.prompt).size()) + kAnswerTokens,
                  testing::kMicroMaxSeqLen);
      }
    }
  }
}

TEST(GflowVlmHousehold, RolloutsAreWellFormed) {
  manual_seed(2);
  nn::VisionLanguageModel model(micro_config());
  std::vector<subtb::vlm::VlmEnv> envs;
  for (int i = 0; i < 2; ++i) envs.emplace_back(subtb::vlm::make_task("household"), env_options(3));
  Generator gen(3);
  const RolloutResult played = play_episodes(model, micro_tokenizer(), envs, {21, 22}, {.max_new_tokens = 8}, gen);
  ASSERT_EQ(played.episodes.size(), 2u);
  EXPECT_LE(played.invalid, played.steps);
  for (size_t i = 0; i < 2; ++i) {
    expect_well_formed(played.episodes[i], 3);
    EXPECT_EQ(played.rewards[i].size(), played.episodes[i].steps.size());
  }
}

class GflowVlmHouseholdMethods : public ::testing::TestWithParam<Method> {};

TEST_P(GflowVlmHouseholdMethods, AnIterationTrainsAndEvaluates) {
  manual_seed(4);
  nn::VisionLanguageModel model(micro_config());
  GflowVlmConfig c = testing::micro_loop_config(GetParam(), "household");
  c.iterations = 2;
  GflowVlmTrainer trainer(model, micro_tokenizer(), c);
  std::vector<float> before;
  for (const Tensor& p : model.parameters()) {
    const std::vector<float> v = p.contiguous().to_vector<float>();
    before.insert(before.end(), v.begin(), v.end());
  }
  const IterationMetrics m = trainer.step();
  EXPECT_TRUE(std::isfinite(m.loss));
  EXPECT_TRUE(std::isfinite(m.mean_log_reward));
  EXPECT_GT(m.mean_steps, 0.0);
  EXPECT_LE(m.mean_steps, 2.0);
  std::vector<float> after;
  for (const Tensor& p : model.parameters()) {
    const std::vector<float> v = p.contiguous().to_vector<float>();
    after.insert(after.end(), v.begin(), v.end());
  }
  EXPECT_NE(before, after) << to_string(GetParam()) << " left the parameters unchanged";

  const EvalMetrics eval = trainer.evaluate(2, 0, "household-unseen");
  EXPECT_EQ(eval.episodes, 2);
  EXPECT_GE(eval.success_rate, 0.0);
  EXPECT_LE(eval.success_rate, 1.0);
  EXPECT_GE(eval.invalid_rate, 0.0);
  EXPECT_LE(eval.invalid_rate, 1.0);
  EXPECT_GT(eval.mean_reward, 0.0);
}

INSTANTIATE_TEST_SUITE_P(SftAndVarTb, GflowVlmHouseholdMethods, ::testing::Values(Method::sft, Method::var_tb),
                         [](const auto& info) { return std::string(to_string(info.param)); });

}  // namespace
}  // namespace subtb::gflownet::vlm
