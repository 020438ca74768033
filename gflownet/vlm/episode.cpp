#include "gflownet/vlm/episode.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "nn/tokenizer/special_tokens.h"
#include "tensor/ops.h"

namespace subtb::gflownet::vlm {

void check_episode(const Episode& episode) {
  const size_t n = episode.steps.size();
  SUBTB_CHECK(episode.log_rewards.size() == n + 1, "episode (seed ", episode.seed, "): ", n, " steps need ", n + 1,
              " log-rewards (one per state), got ", episode.log_rewards.size());
  for (size_t t = 0; t <= n; ++t) {
    const double r = episode.log_rewards[t];
    SUBTB_CHECK(std::isfinite(r), "episode (seed ", episode.seed, "): log-reward of state ", t, " must be finite, got ",
                r);
  }
  for (size_t t = 0; t < n; ++t) {
    const EpisodeStep& step = episode.steps[t];
    SUBTB_CHECK(step.roles.size() == step.answer.size(), "episode (seed ", episode.seed, "): step ", t, " has ",
                step.answer.size(), " answer tokens but ", step.roles.size(), " roles");
  }
}

namespace {

char role_code(TokenRole role) {
  switch (role) {
    case TokenRole::other:
      return 'o';
    case TokenRole::cot:
      return 'c';
    case TokenRole::action:
      return 'a';
  }
  SUBTB_THROW("episode: unknown token role");
}

TokenRole parse_role(char code) {
  switch (code) {
    case 'o':
      return TokenRole::other;
    case 'c':
      return TokenRole::cot;
    case 'a':
      return TokenRole::action;
    default:
      SUBTB_THROW("episode_from_json: unknown token role '", code, "' (expected c, a or o)");
  }
}

}  // namespace

nlohmann::json to_json(const Episode& episode) {
  nlohmann::json steps = nlohmann::json::array();
  for (const EpisodeStep& step : episode.steps) {
    std::string roles;
    for (TokenRole r : step.roles) roles.push_back(role_code(r));
    steps.push_back({{"prompt", step.prompt}, {"answer", step.answer}, {"roles", roles}, {"action", step.action}});
  }
  return {{"seed", episode.seed},
          {"success", episode.success},
          {"source", episode.source == EpisodeSource::expert ? "expert" : "model"},
          {"log_rewards", episode.log_rewards},
          {"steps", steps}};
}

Episode episode_from_json(const nlohmann::json& j) {
  Episode e;
  try {
    e.seed = j.at("seed").get<std::uint64_t>();
    e.success = j.at("success").get<bool>();
    const std::string source = j.at("source").get<std::string>();
    SUBTB_CHECK(source == "model" || source == "expert", "episode_from_json: source must be model or expert, got '",
                source, "'");
    e.source = source == "expert" ? EpisodeSource::expert : EpisodeSource::model;
    e.log_rewards = j.at("log_rewards").get<std::vector<double>>();
    for (const nlohmann::json& s : j.at("steps")) {
      EpisodeStep step;
      step.prompt = s.at("prompt").get<std::vector<std::int32_t>>();
      step.answer = s.at("answer").get<std::vector<std::int32_t>>();
      for (char c : s.at("roles").get<std::string>()) step.roles.push_back(parse_role(c));
      step.action = s.at("action").get<std::string>();
      e.steps.push_back(std::move(step));
    }
  } catch (const nlohmann::json::exception& err) {
    SUBTB_THROW("episode_from_json: malformed episode: ", err.what());
  }
  check_episode(e);
  return e;
}

CollatedEpisodes collate(const std::vector<Episode>& episodes, DType dtype, Device device) {
  const int64_t B = static_cast<int64_t>(episodes.size());
  int64_t T = 0, S = 0;
  for (const Episode& e : episodes) {
    check_episode(e);
    int64_t tokens = 0;
    for (const EpisodeStep& step : e.steps) tokens += static_cast<int64_t>(step.answer.size());
    T = std::max(T, tokens);
    S = std::max(S, static_cast<int64_t>(e.steps.size()));
  }
  std::vector<int64_t> tokens(static_cast<size_t>(B * T), nn::kPadToken), step_index(static_cast<size_t>(B * T), -1);
  std::vector<bool> action(static_cast<size_t>(B * T), false), cot(static_cast<size_t>(B * T), false);
  std::vector<double> log_reward(static_cast<size_t>(B * (S + 1)), 0.0);
  std::vector<int64_t> lengths(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const Episode& e = episodes[static_cast<size_t>(b)];
    size_t at = static_cast<size_t>(b * T);
    for (size_t t = 0; t < e.steps.size(); ++t) {
      const EpisodeStep& step = e.steps[t];
      for (size_t k = 0; k < step.answer.size(); ++k, ++at) {
        tokens[at] = step.answer[k];
        step_index[at] = static_cast<int64_t>(t);
        action[at] = step.roles[k] == TokenRole::action;
        cot[at] = step.roles[k] == TokenRole::cot;
      }
    }
    std::copy(e.log_rewards.begin(), e.log_rewards.end(), log_reward.begin() + b * (S + 1));
    lengths[static_cast<size_t>(b)] = static_cast<int64_t>(e.steps.size());
  }
  auto mask = [&](const std::vector<bool>& m) { return from_vector<bool>(m, Shape{B, T}, device); };
  CollatedEpisodes out;
  out.answer_tokens = from_vector<int64_t>(tokens, Shape{B, T}, device);
  out.answer = {from_vector<int64_t>(step_index, Shape{B, T}, device), mask(action), mask(cot)};
  out.log_reward = from_vector<double>(log_reward, Shape{B, S + 1}, device).to(dtype);
  out.lengths = from_vector<int64_t>(lengths, Shape{B}, device);
  return out;
}

}  // namespace subtb::gflownet::vlm
