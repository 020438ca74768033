// The GFlowVLM training loop end to end on NumberLine with a micro VLM: rollouts give
// well-formed episodes, every method's update is finite and moves the parameters, and
// evaluation reports rates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "envs/vlm/registry.h"
#include "gflownet/vlm/episode_images.h"
#include "gflownet/vlm/evaluation.h"
#include "gflownet/vlm/rollout.h"
#include "gflownet/vlm/scoring.h"
#include "gflownet/vlm/vlm_trainer.h"
#include "nn/tokenizer/special_tokens.h"
#include "tensor/ops.h"
#include "tests/gflownet/vlm_micro_model.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

using testing::micro_config;
using testing::micro_tokenizer;

GflowVlmConfig loop_config(Method method) { return testing::micro_loop_config(method); }

std::vector<float> flat_parameters(const nn::Module& model) {
  std::vector<float> out;
  for (const Tensor& p : model.parameters()) {
    const std::vector<float> v = p.contiguous().to_vector<float>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

void expect_well_formed(const Episode& e, int max_steps) {
  EXPECT_NO_THROW(check_episode(e));
  EXPECT_LE(static_cast<int>(e.steps.size()), max_steps);
  ASSERT_EQ(e.log_rewards.size(), e.steps.size() + 1);
  for (double r : e.log_rewards) {
    EXPECT_TRUE(std::isfinite(r));
    EXPECT_LE(r, std::log(100.0) + 1e-12);  // NumberLine's R is at most 100
  }
  for (const EpisodeStep& s : e.steps) {
    EXPECT_EQ(s.roles.size(), s.answer.size());
    EXPECT_TRUE(s.action == "-" || s.action == "+") << s.action;
    EXPECT_EQ(s.prompt.front(), nn::kBosToken);
  }
}

TEST(GflowVlmLoop, AnswerRolesSplitAtTheActionKey) {
  const nn::Tokenizer tok;  // byte-level: one token a byte
  std::vector<std::int32_t> answer = tok.encode(R"({"thoughts": "go", "action": "+"})");
  answer.push_back(nn::kEosToken);
  const std::vector<TokenRole> roles = answer_roles(tok, answer);
  const size_t key = std::string(R"({"thoughts": "go", )").size();
  ASSERT_EQ(roles.size(), answer.size());
  for (size_t i = 0; i < roles.size(); ++i) EXPECT_EQ(roles[i], i < key ? TokenRole::cot : TokenRole::action) << i;
  const std::vector<std::int32_t> bare = tok.encode("no key here");
  for (TokenRole r : answer_roles(tok, bare)) EXPECT_EQ(r, TokenRole::cot);
}

TEST(GflowVlmLoop, RolloutAndExpertEpisodesAreWellFormed) {
  manual_seed(1);
  nn::VisionLanguageModel model(micro_config());
  const nn::Tokenizer& tok = micro_tokenizer();
  subtb::vlm::EnvOptions options{.prompt = subtb::vlm::PromptStyle::gflowvlm, .done_action = true, .max_steps = 3};
  std::vector<subtb::vlm::VlmEnv> envs;
  for (int i = 0; i < 3; ++i) envs.emplace_back(subtb::vlm::make_task("numberline"), options);
  Generator gen(3);
  const RolloutResult played = play_episodes(model, tok, envs, {11, 12, 13}, {.max_new_tokens = 8}, gen);
  ASSERT_EQ(played.episodes.size(), 3u);
  EXPECT_LE(played.invalid, played.steps);
  for (size_t i = 0; i < 3; ++i) {
    expect_well_formed(played.episodes[i], 3);
    EXPECT_EQ(played.episodes[i].seed, 11 + i);
    EXPECT_EQ(played.rewards[i].size(), played.episodes[i].steps.size());
  }

  subtb::vlm::VlmEnv expert_env(subtb::vlm::make_task("numberline"), options);
  const std::optional<Episode> expert = play_expert_episode(expert_env, tok, model, 11);
  ASSERT_TRUE(expert.has_value());
  expect_well_formed(*expert, 3);
  EXPECT_EQ(expert->source, EpisodeSource::expert);
  ASSERT_FALSE(expert->steps.empty());
  // The expert's JSON answers hold both parts, and its moves never lower the reward.
  bool cot = false, action = false;
  for (TokenRole r : expert->steps.front().roles) (r == TokenRole::cot ? cot : action) = true;
  EXPECT_TRUE(cot && action);
  for (size_t t = 1; t < expert->log_rewards.size(); ++t) EXPECT_GT(expert->log_rewards[t], expert->log_rewards[t - 1]);

  // Scoring lays the episodes out as the objectives expect.
  const ScoredEpisodes scored = score_episodes(model, tok, expert_env, {*expert, played.episodes[0]});
  const int64_t s = scored.batch.log_pf.shape()[1];
  EXPECT_EQ(scored.batch.log_done.shape(), (Shape{2, s + 1}));
  EXPECT_EQ(scored.state_hidden.shape(), (Shape{2, s + 1, 32}));
  EXPECT_EQ(scored.batch.lengths.to_vector<int64_t>()[0], static_cast<int64_t>(expert->steps.size()));
  for (float v : scored.batch.log_done.to_vector<float>()) EXPECT_TRUE(std::isfinite(v) && v < 0);
  const std::vector<float> log_pf = scored.batch.log_pf.to_vector<float>();
  for (size_t t = 0; t < expert->steps.size(); ++t) EXPECT_LT(log_pf[t], 0.0f);
}

// score_episodes runs the head over a few rows of one batched pass over every state of
// every episode; each value must be what one sequence alone gives through the full head
// and log-softmax. Three episodes of different lengths, so that a row of one episode
// taken for another's shows.
TEST(GflowVlmLoop, ScoringMatchesAFullPassOverEachStateAlone) {
  manual_seed(2);
  nn::VisionLanguageModel model(micro_config());
  const nn::Tokenizer& tok = micro_tokenizer();
  subtb::vlm::EnvOptions options{.prompt = subtb::vlm::PromptStyle::gflowvlm, .done_action = true, .max_steps = 3};
  subtb::vlm::VlmEnv env(subtb::vlm::make_task("numberline"), options);
  std::vector<Episode> episodes;
  for (std::uint64_t seed : {5, 3, 11}) {
    const std::optional<Episode> expert = play_expert_episode(env, tok, model, seed);
    ASSERT_TRUE(expert.has_value());
    episodes.push_back(*expert);
  }
  ASSERT_GE(episodes[0].steps.size(), 2u);
  ASSERT_GE(episodes[1].steps.size(), 2u);
  episodes[1].steps.resize(1);  // a shorter episode: one step, then stopped in s_1
  episodes[1].log_rewards.resize(2);
  constexpr double temperature = 0.5;
  const ScoredEpisodes scored = score_episodes(model, tok, env, episodes, {temperature, 0.4});
  const int64_t t_answers = scored.token_log_probs.shape()[1];
  const int64_t states = scored.batch.log_done.shape()[1];
  const std::vector<float> token_log_probs = scored.token_log_probs.to_vector<float>();
  const std::vector<float> log_done = scored.batch.log_done.to_vector<float>();

  for (size_t e = 0; e < episodes.size(); ++e) {
    const Episode& episode = episodes[e];
    const Tensor images = replay_images(env, model, episode);
    const std::string final_prompt = env.prompt();  // where the replay left the task
    size_t column = static_cast<size_t>(static_cast<int64_t>(e) * t_answers);
    for (size_t t = 0; t <= episode.steps.size(); ++t) {
      const bool last = t == episode.steps.size();
      std::vector<int64_t> seq =
          last ? expand_prompt(model, prompt_template(tok, final_prompt)) : expand_prompt(model, episode.steps[t].prompt);
      const int64_t prompt_length = static_cast<int64_t>(seq.size());
      if (!last) seq.insert(seq.end(), episode.steps[t].answer.begin(), episode.steps[t].answer.end());
      const int64_t length = static_cast<int64_t>(seq.size());
      const Tensor hidden = model.hidden_states(from_vector(seq, Shape{1, length}),
                                                slice(images, 0, static_cast<int64_t>(t), static_cast<int64_t>(t) + 1));
      const Tensor log_p = log_softmax(model.language_model->logits(hidden) / temperature).reshape({length, -1});
      const int64_t vocab = log_p.shape()[1];
      const std::vector<float> full = log_p.contiguous().to_vector<float>();
      EXPECT_NEAR(log_done[e * static_cast<size_t>(states) + t],
                  full[static_cast<size_t>((prompt_length - 1) * vocab + nn::kDoneToken)], 1e-4)
          << "episode " << e << " state " << t;
      for (int64_t k = prompt_length; !last && k < length; ++k, ++column) {
        const float expected = full[static_cast<size_t>((k - 1) * vocab + seq[static_cast<size_t>(k)])];
        EXPECT_NEAR(token_log_probs[column], expected, 1e-4) << "episode " << e << " step " << t << " token " << k;
      }
    }
  }
}

class GflowVlmMethods : public ::testing::TestWithParam<Method> {};

TEST_P(GflowVlmMethods, AnIterationTrainsAndEvaluationReportsRates) {
  manual_seed(2);
  nn::VisionLanguageModel model(micro_config());
  GflowVlmTrainer trainer(model, micro_tokenizer(), loop_config(GetParam()));
  const std::vector<float> before = flat_parameters(model);
  const IterationMetrics m = trainer.step();
  EXPECT_TRUE(std::isfinite(m.loss));
  EXPECT_GE(m.success_rate, 0.0);
  EXPECT_LE(m.success_rate, 1.0);
  EXPECT_GE(m.invalid_rate, 0.0);
  EXPECT_LE(m.invalid_rate, 1.0);
  EXPECT_TRUE(std::isfinite(m.mean_log_reward));
  EXPECT_EQ(trainer.iterations_done(), 1);
  const std::vector<float> after = flat_parameters(model);
  ASSERT_EQ(before.size(), after.size());
  // PPO skips its update when every episode stopped at once; the micro model writes [DONE]
  // first with probability ~1 / vocab, so four episodes all doing so is not a concern.
  EXPECT_NE(before, after) << to_string(GetParam()) << " left the parameters unchanged";

  const EvalMetrics eval = trainer.evaluate(2, 100);
  EXPECT_EQ(eval.episodes, 2);
  EXPECT_GE(eval.success_rate, 0.0);
  EXPECT_LE(eval.success_rate, 1.0);
  EXPECT_GE(eval.invalid_rate, 0.0);
  EXPECT_LE(eval.invalid_rate, 1.0);
  EXPECT_GT(eval.mean_reward, 0.0);
}

INSTANTIATE_TEST_SUITE_P(AllMethods, GflowVlmMethods,
                         ::testing::Values(Method::var_tb, Method::subtb, Method::db, Method::tb, Method::sft,
                                           Method::ppo),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// An iteration whose episodes hold a single step between them (here: one episode, one
// step) has no spread to standardise advantages by; PPO still updates.
TEST(GflowVlmLoop, PpoUpdatesOnASingleStep) {
  manual_seed(2);
  nn::VisionLanguageModel model(micro_config());
  GflowVlmConfig config = loop_config(Method::ppo);
  config.episodes = 1;
  config.episodes_per_task = 1;
  config.max_steps = 1;
  GflowVlmTrainer trainer(model, micro_tokenizer(), config);
  const std::vector<float> before = flat_parameters(model);
  const IterationMetrics m = trainer.step();
  ASSERT_EQ(m.mean_steps, 1.0);  // the micro model writes [DONE] first with probability ~1 / vocab
  EXPECT_TRUE(std::isfinite(m.loss));
  EXPECT_NE(flat_parameters(model), before);
}

TEST(GflowVlmLoop, OffPolicyAddsTheExpertWhenTheModelFails) {
  manual_seed(3);
  nn::VisionLanguageModel model(micro_config());
  GflowVlmConfig config = loop_config(Method::subtb);
  config.off_policy = true;
  GflowVlmTrainer trainer(model, micro_tokenizer(), config);
  const IterationMetrics m = trainer.step();
  EXPECT_TRUE(std::isfinite(m.loss));
  // Both model episodes, and beside each failed one the expert's episode of its seed.
  EXPECT_EQ(trainer.buffer().size(), std::min<int64_t>(4, 2 + std::lround(2 * (1.0 - m.success_rate))));
  if (m.success_rate < 1.0) {
    bool expert = false;
    for (int64_t i = 0; i < trainer.buffer().size(); ++i) expert |= trainer.buffer()[i].source == EpisodeSource::expert;
    EXPECT_TRUE(expert);
  }
}

TEST(GflowVlmLoop, MethodsParseAndConfigsValidate) {
  EXPECT_EQ(parse_method("vartb"), Method::var_tb);
  EXPECT_EQ(parse_method("var_tb"), Method::var_tb);
  EXPECT_EQ(parse_method("ppo"), Method::ppo);
  EXPECT_THROW_MSG(parse_method("dpo"), "unknown method 'dpo'");
  GflowVlmConfig c = loop_config(Method::var_tb);
  c.episodes = 3;
  EXPECT_THROW_MSG(c.validate(), "episodes 3 must be a positive multiple of episodes_per_task 2");
  c = loop_config(Method::var_tb);
  c.sft_teach_done = false;
  EXPECT_THROW_MSG(c.validate(), "sft_teach_done = false applies to sft, not vartb");
}

// The SFT loss of one iteration, from the expert's episodes scored by hand: the mean
// negative log-likelihood of the answer tokens, and of [DONE] after each success unless
// sft_teach_done is off.
TEST(GflowVlmLoop, SftTeachesDoneAfterSuccessesOnlyWhenAsked) {
  GflowVlmConfig config = loop_config(Method::sft);
  config.max_steps = 10;  // room for the expert to reach the target
  const std::uint64_t seed = kFirstTrainingSeed + (config.seed << 20);  // the trainer's first task
  const nn::VLMConfig model_config = micro_config();  // before seeding: it may train the tokenizer
  manual_seed(5);
  nn::VisionLanguageModel reference(model_config);
  subtb::vlm::VlmEnv env(subtb::vlm::make_task(config.task),
                         {.prompt = subtb::vlm::PromptStyle::gflowvlm, .done_action = true, .max_steps = 10});
  const std::optional<Episode> expert = play_expert_episode(env, micro_tokenizer(), reference, seed);
  ASSERT_TRUE(expert.has_value() && expert->success);
  const ScoredEpisodes scored = score_episodes(reference, micro_tokenizer(), env, {*expert}, {1.0, 1.0});
  double answers = 0;
  for (float v : scored.token_log_probs.to_vector<float>()) answers += v;
  int64_t tokens = 0;
  for (const EpisodeStep& step : expert->steps) tokens += static_cast<int64_t>(step.answer.size());
  const double done = scored.batch.log_done.to_vector<float>()[expert->steps.size()];
  ASSERT_LT(done, -1.0);

  for (const bool teach_done : {true, false}) {
    manual_seed(5);
    nn::VisionLanguageModel model(model_config);  // the reference's weights
    config.sft_teach_done = teach_done;
    GflowVlmTrainer trainer(model, micro_tokenizer(), config);
    const IterationMetrics m = trainer.step();
    // Both episodes of the iteration are the same expert episode, so the mean is one episode's.
    const double expected = teach_done ? -(answers + done) / static_cast<double>(tokens + 1)
                                       : -answers / static_cast<double>(tokens);
    EXPECT_NEAR(m.loss, expected, 1e-4 * std::abs(expected)) << "teach_done " << teach_done;
  }
}

}  // namespace
}  // namespace subtb::gflownet::vlm
