#include "gflownet/vlm/rollout.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "envs/render/canvas.h"
#include "gflownet/vlm/episode_images.h"
#include "nn/tokenizer/special_tokens.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace subtb::gflownet::vlm {

namespace {

using subtb::vlm::VlmEnv;

double checked_log_reward(const VlmEnv& env) {
  const double r = env.reward_if_done();
  SUBTB_CHECK(r > 0 && std::isfinite(r), "play_episodes: task '", env.task().name(), "' gave the reward ", r,
              ", expected a positive finite value");
  return std::log(r);
}

bool template_only(std::int32_t id) { return id == nn::kImageToken || id == nn::kBosToken || id == nn::kPadToken; }

}  // namespace

std::vector<TokenRole> answer_roles(const nn::Tokenizer& tokenizer, std::span<const std::int32_t> answer) {
  std::string text;
  std::vector<size_t> starts;
  for (std::int32_t id : answer) {
    starts.push_back(text.size());
    if (!tokenizer.is_special(id)) text += tokenizer.token_bytes(id);
  }
  const size_t key = text.find("\"action\"");
  std::vector<TokenRole> roles;
  roles.reserve(answer.size());
  for (size_t i = 0; i < answer.size(); ++i) {
    const bool before_key = key == std::string::npos || (starts[i] < key && !tokenizer.is_special(answer[i]));
    roles.push_back(before_key ? TokenRole::cot : TokenRole::action);
  }
  return roles;
}

RolloutResult play_episodes(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer, std::vector<VlmEnv>& envs,
                            const std::vector<std::uint64_t>& seeds, const RolloutOptions& options, Generator& gen) {
  SUBTB_CHECK(envs.size() == seeds.size(), "play_episodes: ", envs.size(), " environments but ", seeds.size(),
              " seeds");
  SUBTB_CHECK(options.max_new_tokens > 0, "play_episodes: max_new_tokens ", options.max_new_tokens,
              " must be positive");
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  const Clock::time_point start = Clock::now();
  const int64_t max_seq_len = model.config().language.max_seq_len;
  RolloutResult out;
  out.episodes.resize(envs.size());
  out.rewards.resize(envs.size());
  std::vector<size_t> active;
  for (size_t i = 0; i < envs.size(); ++i) {
    SUBTB_CHECK(envs[i].options().done_action, "play_episodes: environment ", i, " (", envs[i].task().name(),
                ") does not offer [DONE]");
    envs[i].reset(seeds[i]);
    out.episodes[i].seed = seeds[i];
    out.episodes[i].log_rewards.push_back(checked_log_reward(envs[i]));
    active.push_back(i);
  }
  nn::GenerationConfig generation;
  generation.greedy = options.greedy;
  generation.temperature = options.temperature;
  // Tokens that only the template may place end an answer and become its <eos>: an <image>
  // inside an answer would take an image token's place when the episode is scored.
  generation.stop_token_ids = {nn::kEosToken, nn::kDoneToken, nn::kImageToken, nn::kBosToken, nn::kPadToken};
  generation.pad_token_id = nn::kPadToken;
  generation.gen = &gen;
  render::Canvas canvas;
  while (!active.empty()) {
    std::vector<std::vector<std::int32_t>> templates;
    std::vector<std::vector<int64_t>> prompts;
    std::vector<size_t> playing;
    std::vector<OwnedRender> renders;
    int64_t longest = 0;
    for (size_t i : active) {
      std::vector<std::int32_t> prompt = prompt_template(tokenizer, envs[i].prompt());
      std::vector<int64_t> expanded = expand_prompt(model, prompt);
      // A prompt that leaves no room for an answer ends its episode where it stands.
      if (static_cast<int64_t>(expanded.size()) + 1 >= max_seq_len) continue;
      longest = std::max(longest, static_cast<int64_t>(expanded.size()));
      renders.push_back(render_state(envs[i], canvas));
      templates.push_back(std::move(prompt));
      prompts.push_back(std::move(expanded));
      playing.push_back(i);
    }
    if (playing.empty()) break;
    generation.max_new_tokens = std::min(options.max_new_tokens, max_seq_len - longest);
    const Tensor images = preprocess_renders(model, renders);
    const Clock::time_point generate_start = Clock::now();
    const std::vector<nn::GeneratedRow> rows = model.generate(prompts, images, generation);
    out.generate_seconds += seconds_since(generate_start);
    active.clear();
    for (size_t k = 0; k < playing.size(); ++k) {
      const size_t i = playing[k];
      Episode& episode = out.episodes[i];
      std::vector<std::int32_t> answer(rows[k].tokens.begin(), rows[k].tokens.end());
      if (!answer.empty() && template_only(answer.back())) answer.back() = nn::kEosToken;
      if (!answer.empty() && answer.front() == nn::kDoneToken) continue;
      const subtb::vlm::StepResult result = envs[i].step_text(tokenizer.decode(answer));
      ++out.steps;
      if (!result.valid()) ++out.invalid;
      if (result.action == subtb::vlm::done_action_text) continue;
      episode.steps.push_back({std::move(templates[k]), answer, answer_roles(tokenizer, answer), result.action});
      episode.log_rewards.push_back(checked_log_reward(envs[i]));
      out.rewards[i].push_back(result.reward);
      if (!result.over()) active.push_back(i);
    }
  }
  for (size_t i = 0; i < envs.size(); ++i) out.episodes[i].success = envs[i].success();
  out.environment_seconds = seconds_since(start) - out.generate_seconds;
  return out;
}

std::optional<Episode> play_expert_episode(VlmEnv& env, const nn::Tokenizer& tokenizer,
                                           const nn::VisionLanguageModel& model, std::uint64_t seed,
                                           std::vector<double>* rewards) {
  const int64_t max_seq_len = model.config().language.max_seq_len;
  env.reset(seed);
  Episode episode;
  episode.seed = seed;
  episode.source = EpisodeSource::expert;
  episode.log_rewards.push_back(checked_log_reward(env));
  while (!env.over()) {
    std::vector<std::int32_t> prompt = prompt_template(tokenizer, env.prompt());
    const int64_t prompt_length = static_cast<int64_t>(expand_prompt(model, prompt).size());
    if (prompt_length + 1 >= max_seq_len) break;
    const std::optional<subtb::vlm::ExpertAnswer> expert = env.expert();
    if (!expert.has_value()) return std::nullopt;
    if (expert->action == subtb::vlm::done_action_text) break;
    const auto& actions = env.actions();
    const auto it = std::find(actions.begin(), actions.end(), expert->action);
    SUBTB_CHECK(it != actions.end(), "play_expert_episode: the expert of '", env.task().name(), "' chose '",
                expert->action, "', which is not admissible");
    std::vector<std::int32_t> answer = tokenizer.encode(expert->answer.dump());
    answer.push_back(nn::kEosToken);
    // Like the model's (play_episodes), the expert's answer must fit after its prompt.
    if (prompt_length + static_cast<int64_t>(answer.size()) > max_seq_len) break;
    const subtb::vlm::StepResult result = env.step(static_cast<size_t>(it - actions.begin()));
    std::vector<TokenRole> roles = answer_roles(tokenizer, answer);
    episode.steps.push_back({std::move(prompt), std::move(answer), std::move(roles), result.action});
    episode.log_rewards.push_back(checked_log_reward(env));
    if (rewards != nullptr) rewards->push_back(result.reward);
  }
  episode.success = env.success();
  return episode;
}

}  // namespace subtb::gflownet::vlm
