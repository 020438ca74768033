#include "gflownet/vlm/evaluation.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "tensor/error.h"

namespace subtb::gflownet::vlm {

namespace {

// Div@N's samples draw from a stream of their own, so that turning it on leaves the
// evaluation episodes' draws as they were.
constexpr std::uint64_t kDivStream = 0x9e3779b97f4a7c15ull;

// Puts the model in evaluation mode (no LoRA dropout) and restores its mode on exit.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(nn::Module& model) : model_(model), was_training_(model.is_training()) { model_.eval(); }
  ~EvalModeGuard() { model_.train(was_training_); }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  nn::Module& model_;
  bool was_training_;
};

// Plays one episode of each seed into `envs` (rebuilt), which keep the final states.
RolloutResult play(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer, const TaskFactory& make_task,
                   const subtb::vlm::EnvOptions& env, const RolloutOptions& rollout,
                   const std::vector<std::uint64_t>& seeds, Generator& gen, std::vector<subtb::vlm::VlmEnv>& envs) {
  envs.clear();
  for (size_t i = 0; i < seeds.size(); ++i) envs.emplace_back(make_task(), env);
  return play_episodes(model, tokenizer, envs, seeds, rollout, gen);
}

std::vector<std::string> actions_taken(const Episode& episode) {
  std::vector<std::string> actions;
  for (const EpisodeStep& step : episode.steps) {
    if (!step.action.empty()) actions.push_back(step.action);
  }
  return actions;
}

}  // namespace

void EvalOptions::validate() const {
  SUBTB_CHECK(episodes > 0, "EvalOptions: episodes ", episodes, " must be positive");
  SUBTB_CHECK(rollout.greedy || rollout.temperature > 0, "EvalOptions: temperature ", rollout.temperature,
              " must be positive unless decoding is greedy");
  SUBTB_CHECK(rollout.max_new_tokens > 0, "EvalOptions: max_new_tokens ", rollout.max_new_tokens, " must be positive");
  SUBTB_CHECK(div_n >= 0 && (div_n == 0 || div_tasks > 0), "EvalOptions: div_n ", div_n, " must not be negative, ",
              "div_tasks ", div_tasks, " positive when div_n is");
  const std::uint64_t tasks = static_cast<std::uint64_t>(std::max(episodes, div_n > 0 ? div_tasks : 0));
  SUBTB_CHECK(first_seed < kFirstTrainingSeed && tasks <= kFirstTrainingSeed - first_seed, "EvalOptions: seeds ",
              first_seed, " .. ", first_seed, " + ", tasks, " reach the training seeds (from ", kFirstTrainingSeed,
              ")");
}

nlohmann::json to_json(const EvalMetrics& m) {
  nlohmann::json by_category = nlohmann::json::object();
  for (const auto& [name, c] : m.by_category)
    by_category[name] = {{"episodes", c.episodes}, {"success_rate", c.success_rate}};
  nlohmann::json j = {{"episodes", m.episodes},         {"success_rate", m.success_rate},
                      {"invalid_rate", m.invalid_rate}, {"mean_reward", m.mean_reward},
                      {"mean_steps", m.mean_steps},     {"temperature", m.temperature},
                      {"by_category", by_category}};
  if (m.div_at_n.has_value()) {
    const DivAtN& d = *m.div_at_n;
    j["div_at_n"] = {{"n", d.n},
                     {"tasks", d.tasks},
                     {"tasks_with_success", d.tasks_with_success},
                     {"value", d.value.has_value() ? nlohmann::json(*d.value) : nlohmann::json(nullptr)}};
  }
  return j;
}

DivAtN div_at_n(const std::vector<Episode>& episodes, int64_t n) {
  SUBTB_CHECK(n > 0, "div_at_n: n ", n, " must be positive");
  std::map<std::uint64_t, int64_t> samples;
  std::map<std::uint64_t, std::set<std::vector<std::string>>> successes;
  for (const Episode& e : episodes) {
    ++samples[e.seed];
    if (e.success) successes[e.seed].insert(actions_taken(e));
  }
  for (const auto& [seed, count] : samples) {
    SUBTB_CHECK(count == n, "div_at_n: task seed ", seed, " has ", count, " samples, expected ", n);
  }
  DivAtN d;
  d.n = n;
  d.tasks = static_cast<int64_t>(samples.size());
  d.tasks_with_success = static_cast<int64_t>(successes.size());
  if (d.tasks_with_success > 0) {
    double distinct = 0;
    for (const auto& [seed, trajectories] : successes) distinct += static_cast<double>(trajectories.size());
    d.value = distinct / static_cast<double>(d.tasks_with_success);
  }
  return d;
}

EvalMetrics evaluate_policy(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer,
                            const TaskFactory& make_task, const subtb::vlm::EnvOptions& env,
                            const EvalOptions& options) {
  options.validate();
  SUBTB_CHECK(make_task != nullptr, "evaluate_policy: no task factory given");
  SUBTB_CHECK(env.done_action, "evaluate_policy: the environments must offer [DONE], as training's do");
  subtb::vlm::EnvOptions env_options = env;
  env_options.on_invalid = options.on_invalid;
  const EvalModeGuard eval_mode(model);
  std::vector<subtb::vlm::VlmEnv> envs;
  std::vector<std::uint64_t> seeds;
  for (int64_t i = 0; i < options.episodes; ++i) seeds.push_back(options.first_seed + static_cast<std::uint64_t>(i));
  Generator gen(options.first_seed);
  const RolloutResult played = play(model, tokenizer, make_task, env_options, options.rollout, seeds, gen, envs);

  EvalMetrics m;
  m.episodes = options.episodes;
  m.temperature = options.rollout.greedy ? 0.0 : options.rollout.temperature;
  std::map<std::string, double> category_successes;
  for (size_t i = 0; i < played.episodes.size(); ++i) {
    const Episode& e = played.episodes[i];
    m.success_rate += e.success ? 1.0 : 0.0;
    m.mean_reward += std::exp(e.log_rewards.back());
    m.mean_steps += static_cast<double>(e.steps.size());
    const std::string category = envs[i].task().category();
    if (category.empty()) continue;
    ++m.by_category[category].episodes;
    category_successes[category] += e.success ? 1.0 : 0.0;
  }
  const double n = static_cast<double>(options.episodes);
  m.success_rate /= n;
  m.mean_reward /= n;
  m.mean_steps /= n;
  m.invalid_rate = played.steps > 0 ? static_cast<double>(played.invalid) / static_cast<double>(played.steps) : 0.0;
  for (auto& [category, c] : m.by_category)
    c.success_rate = category_successes[category] / static_cast<double>(c.episodes);

  if (options.div_n > 0) {
    std::vector<std::uint64_t> div_seeds;
    for (int64_t task = 0; task < options.div_tasks; ++task) {
      div_seeds.insert(div_seeds.end(), static_cast<size_t>(options.div_n),
                       options.first_seed + static_cast<std::uint64_t>(task));
    }
    Generator div_gen(options.first_seed ^ kDivStream);
    m.div_at_n =
        div_at_n(play(model, tokenizer, make_task, env_options, options.rollout, div_seeds, div_gen, envs).episodes,
                 options.div_n);
  }
  return m;
}

}  // namespace subtb::gflownet::vlm
