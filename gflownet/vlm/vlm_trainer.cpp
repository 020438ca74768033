#include "gflownet/vlm/vlm_trainer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "gflownet/vlm/objectives.h"
#include "gflownet/vlm/scoring.h"
#include "nn/clip_grad.h"
#include "nn/safetensors.h"
#include "nn/tokenizer/special_tokens.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace subtb::gflownet::vlm {

namespace {

constexpr std::string_view kMethodNames = "sft, ppo, vartb, tb, subtb, db";

// tb's scalar log Z as a module, so that checkpoints keep it beside the model.
class LogZ : public nn::Module {
 public:
  LogZ(DType dtype, Device device) : value(register_parameter("value", zeros({}, dtype, device))) {}
  Tensor value;
};

int64_t total_steps(const std::vector<Episode>& episodes) {
  int64_t steps = 0;
  for (const Episode& e : episodes) steps += static_cast<int64_t>(e.steps.size());
  return steps;
}

struct EpisodeSummary {
  double log_reward = 0, success = 0, steps = 0;
};

EpisodeSummary summarize(const std::vector<Episode>& episodes) {
  EpisodeSummary s;
  for (const Episode& e : episodes) {
    s.log_reward += e.log_rewards.back();
    s.success += e.success ? 1.0 : 0.0;
    s.steps += static_cast<double>(e.steps.size());
  }
  const double n = static_cast<double>(episodes.size());
  return {s.log_reward / n, s.success / n, s.steps / n};
}

// [B] i64 group ids: episodes of the same seed share their start state, hence log Z.
Tensor seed_groups(const std::vector<Episode>& episodes, Device device) {
  std::map<std::uint64_t, int64_t> ids;
  std::vector<int64_t> group;
  for (const Episode& e : episodes)
    group.push_back(ids.emplace(e.seed, static_cast<int64_t>(ids.size())).first->second);
  return from_vector(group, device);
}

// [N] the entries (b, t < n_b) of a [B, S] tensor, flattened row-major.
Tensor step_entries(const Tensor& x, const std::vector<int64_t>& flat) {
  return index_select(x.reshape({x.numel()}), 0, from_vector(flat, x.device()));
}

}  // namespace

std::string_view to_string(Method method) {
  switch (method) {
    case Method::sft:
      return "sft";
    case Method::ppo:
      return "ppo";
    case Method::var_tb:
      return "vartb";
    case Method::tb:
      return "tb";
    case Method::subtb:
      return "subtb";
    case Method::db:
      return "db";
  }
  return "?";
}

Method parse_method(std::string_view name) {
  if (name == "sft") return Method::sft;
  if (name == "ppo") return Method::ppo;
  if (name == "vartb" || name == "var_tb") return Method::var_tb;
  if (name == "tb") return Method::tb;
  if (name == "subtb") return Method::subtb;
  if (name == "db") return Method::db;
  SUBTB_THROW("parse_method: unknown method '", name, "' (choose ", kMethodNames, ")");
}

void GflowVlmConfig::validate() const {
  SUBTB_CHECK(episodes > 0 && episodes_per_task > 0 && episodes % episodes_per_task == 0, "GflowVlmConfig: episodes ",
              episodes, " must be a positive multiple of episodes_per_task ", episodes_per_task);
  SUBTB_CHECK(iterations > 0 && warmup >= 0, "GflowVlmConfig: iterations ", iterations, " must be positive, warmup ",
              warmup, " not negative");
  SUBTB_CHECK(lr > 0 && weight_decay >= 0 && grad_clip >= 0, "GflowVlmConfig: lr ", lr, ", weight_decay ", weight_decay,
              ", grad_clip ", grad_clip, " out of range");
  SUBTB_CHECK(rollout.temperature > 0 && rollout.max_new_tokens > 0, "GflowVlmConfig: temperature ",
              rollout.temperature, " and max_new_tokens ", rollout.max_new_tokens, " must be positive");
  SUBTB_CHECK(lambda_cot >= 0, "GflowVlmConfig: lambda_cot ", lambda_cot, " is negative");
  SUBTB_CHECK(buffer_capacity > 0 && replay >= 0, "GflowVlmConfig: buffer_capacity ", buffer_capacity,
              " must be positive, replay ", replay, " not negative");
  SUBTB_CHECK(ppo_epochs > 0, "GflowVlmConfig: ppo_epochs ", ppo_epochs, " must be positive");
  SUBTB_CHECK(max_steps >= 0, "GflowVlmConfig: max_steps ", max_steps, " is negative");
  SUBTB_CHECK(sft_teach_done || method == Method::sft, "GflowVlmConfig: sft_teach_done = false applies to sft, not ",
              to_string(method));
}

nlohmann::json to_json(const GflowVlmConfig& c) {
  return {{"method", to_string(c.method)},
          {"task", c.task},
          {"expert", c.task_options.expert},
          {"max_steps", c.max_steps},
          {"episodes", c.episodes},
          {"episodes_per_task", c.episodes_per_task},
          {"iterations", c.iterations},
          {"warmup", c.warmup},
          {"lr", c.lr},
          {"min_lr_factor", c.min_lr_factor},
          {"weight_decay", c.weight_decay},
          {"grad_clip", c.grad_clip},
          {"max_new_tokens", c.rollout.max_new_tokens},
          {"temperature", c.rollout.temperature},
          {"lambda_cot", c.lambda_cot},
          {"off_policy", c.off_policy},
          {"sft_teach_done", c.sft_teach_done},
          {"buffer_capacity", c.buffer_capacity},
          {"replay", c.replay},
          {"subtb_lambda", c.subtb.lambda},
          {"ppo_clip", c.ppo.clip},
          {"ppo_value_coef", c.ppo.value_coef},
          {"gamma", c.gae.gamma},
          {"gae_lambda", c.gae.lambda},
          {"ppo_epochs", c.ppo_epochs},
          {"seed", c.seed}};
}

IterationTimes& IterationTimes::operator+=(const IterationTimes& other) {
  generate += other.generate;
  environment += other.environment;
  score += other.score;
  backward += other.backward;
  update += other.update;
  total += other.total;
  return *this;
}

nlohmann::json to_json(const IterationMetrics& m) {
  return {{"iteration", m.iteration},
          {"loss", m.loss},
          {"mean_log_reward", m.mean_log_reward},
          {"success_rate", m.success_rate},
          {"invalid_rate", m.invalid_rate},
          {"mean_steps", m.mean_steps},
          {"lr", m.lr},
          {"env_steps", m.env_steps},
          {"time",
           {{"generate", m.time.generate},
            {"environment", m.time.environment},
            {"score", m.time.score},
            {"backward", m.time.backward},
            {"update", m.time.update},
            {"total", m.time.total}}}};
}

GflowVlmTrainer::GflowVlmTrainer(nn::VisionLanguageModel& model, const nn::Tokenizer& tokenizer,
                                 const GflowVlmConfig& config)
    : model_(model),
      tokenizer_(tokenizer),
      config_(config),
      scratch_env_(make_env(config.task)),
      buffer_(config.buffer_capacity),
      schedule_(nn::warmup_cosine(config.warmup, config.iterations, config.min_lr_factor)),
      gen_(config.seed),
      next_seed_(kFirstTrainingSeed + (config.seed << 20)) {
  config_.validate();
  const nn::VLMConfig& mc = model.config();
  SUBTB_CHECK(tokenizer.vocab_size() <= mc.language.vocab_size, "GflowVlmTrainer: the tokenizer's ",
              tokenizer.vocab_size(), " tokens do not fit the model's vocabulary of ", mc.language.vocab_size);
  SUBTB_CHECK(mc.image_token_id == nn::kImageToken, "GflowVlmTrainer: the model's image_token_id ", mc.image_token_id,
              " is not the tokenizer's <image> (", nn::kImageToken, ")");
  for (int64_t i = 0; i < config_.episodes; ++i) envs_.push_back(make_env(config_.task));
  for (const Tensor& p : model.parameters()) {
    if (p.requires_grad()) params_.push_back(p);
  }
  const Tensor like = model.language_model->parameters().front();
  if (config_.method == Method::ppo) {
    value_head_ = std::make_shared<ValueHead>(mc.language.dim);
    value_head_->to(like.dtype());
    value_head_->to(like.device());
    for (const Tensor& p : value_head_->parameters()) params_.push_back(p);
  }
  if (config_.method == Method::tb) {
    const auto log_z = std::make_shared<LogZ>(like.dtype(), like.device());
    log_z_ = log_z->value;
    log_z_module_ = log_z;
    params_.push_back(log_z_);
  }
  SUBTB_CHECK(!params_.empty(), "GflowVlmTrainer: the model has no trainable parameter");
  optimizer_ =
      std::make_unique<nn::AdamW>(params_, nn::AdamOptions{.lr = config_.lr, .weight_decay = config_.weight_decay});
}

subtb::vlm::EnvOptions GflowVlmTrainer::env_options() const {
  subtb::vlm::EnvOptions options;
  options.reward = subtb::vlm::RewardMode::rl4vlm;  // PPO's; the GFlowNet rewards come from reward_if_done
  options.prompt = subtb::vlm::PromptStyle::gflowvlm;
  options.done_action = true;
  options.max_steps = config_.max_steps;
  return options;
}

subtb::vlm::VlmEnv GflowVlmTrainer::make_env(std::string_view task) const {
  return subtb::vlm::VlmEnv(subtb::vlm::make_task(task, config_.task_options), env_options());
}

double GflowVlmTrainer::current_lr() const { return config_.lr * schedule_(iterations_done_); }

std::vector<std::uint64_t> GflowVlmTrainer::next_seeds() {
  std::vector<std::uint64_t> seeds;
  for (int64_t task = 0; task < config_.episodes / config_.episodes_per_task; ++task, ++next_seed_) {
    seeds.insert(seeds.end(), static_cast<size_t>(config_.episodes_per_task), next_seed_);
  }
  return seeds;
}

nn::TrainingState GflowVlmTrainer::training_state() {
  nn::TrainingState state{model_, optimizer_.get(), {{"trainer", &gen_}}};
  if (value_head_) state.modules.emplace("value_head", value_head_.get());
  if (log_z_module_) state.modules.emplace("log_z", log_z_module_.get());
  return state;
}

void GflowVlmTrainer::save_checkpoint(const std::string& path, const std::string& config_json) {
  nlohmann::json j = nlohmann::json::parse(config_json);
  SUBTB_CHECK(j.is_object(), "GflowVlmTrainer::save_checkpoint: '", path, "': the config must be a JSON object");
  j["trainer"] = {{"config", to_json(config_)},
                  {"next_seed", next_seed_},
                  {"env_steps", env_steps_},
                  {"buffer", buffer_.to_json()}};
  nn::save_checkpoint(path, training_state(), iterations_done_, j.dump());
}

nn::CheckpointInfo GflowVlmTrainer::load_checkpoint(const std::string& path) {
  const auto fail = [&](const auto&... args) {
    SUBTB_THROW("GflowVlmTrainer::load_checkpoint: '", path, "': ", args...);
  };
  // The trainer's own entries are read and checked before anything changes.
  const nn::Metadata metadata = nn::load_safetensors(path).metadata;
  const auto it = metadata.find("config");
  if (it == metadata.end() || !nlohmann::json::accept(it->second)) fail("no JSON config; not a checkpoint");
  nlohmann::json config = nlohmann::json::parse(it->second);
  if (!config.is_object() || !config.contains("trainer"))
    fail("no \"trainer\" entry; not a GflowVlmTrainer checkpoint");
  nlohmann::json saved, saved_buffer;
  std::uint64_t next_seed = 0;
  int64_t env_steps = 0;
  try {
    const nlohmann::json& trainer = config.at("trainer");
    saved = trainer.at("config");
    next_seed = trainer.at("next_seed").get<std::uint64_t>();
    env_steps = trainer.at("env_steps").get<int64_t>();
    saved_buffer = trainer.at("buffer");
  } catch (const nlohmann::json::exception& e) {
    fail("malformed \"trainer\" entry: ", e.what());
  }
  const nlohmann::json current = to_json(config_);
  // Fields added after checkpoints were first written: one saved without such a field was
  // made with its default.
  const nlohmann::json later_fields = {{"sft_teach_done", true}};
  for (const auto& [key, value] : current.items()) {
    if (key == "iterations") continue;  // a resumed run may stretch the schedule
    const nlohmann::json was = saved.contains(key) ? saved.at(key) : later_fields.value(key, nlohmann::json());
    if (was.is_null()) fail("the saved loop config lacks ", key);
    if (was != value) fail("saved with ", key, " ", was.dump(), ", but this trainer has ", value.dump());
  }
  EpisodeBuffer buffer(config_.buffer_capacity);
  try {
    buffer.restore(saved_buffer);
  } catch (const Error& e) {
    fail(e.what());
  }
  nn::CheckpointInfo info = nn::load_checkpoint(path, training_state());
  config.erase("trainer");
  info.config = config.dump();
  iterations_done_ = info.step;
  next_seed_ = next_seed;
  env_steps_ = env_steps;
  buffer_ = std::move(buffer);
  return info;
}

double GflowVlmTrainer::Stopwatch::lap() {
  const auto now = std::chrono::steady_clock::now();
  const double seconds = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  return seconds;
}

// The loss's computation since the previous lap, with its backward pass, is the backward
// phase; clipping and the AdamW step the update phase.
double GflowVlmTrainer::update(const Tensor& loss, IterationTimes& time, Stopwatch& watch) {
  const double value = loss.item();
  SUBTB_CHECK(std::isfinite(value), "GflowVlmTrainer: the ", to_string(config_.method), " loss is ", value,
              " at iteration ", iterations_done_);
  optimizer_->zero_grad();
  loss.backward();
  time.backward += watch.lap();
  if (config_.grad_clip > 0) nn::clip_grad_norm(params_, config_.grad_clip);
  optimizer_->step();
  time.update += watch.lap();
  return value;
}

IterationMetrics GflowVlmTrainer::step() {
  Stopwatch whole, watch;
  IterationMetrics metrics;
  metrics.iteration = iterations_done_;
  metrics.lr = current_lr();
  model_.train();
  optimizer_->scale_lr(schedule_(iterations_done_));
  switch (config_.method) {
    case Method::sft:
      metrics.loss = sft_iteration(metrics, watch);
      break;
    case Method::ppo:
      metrics.loss = ppo_iteration(metrics, watch);
      break;
    default:
      metrics.loss = gflownet_iteration(metrics, watch);
      break;
  }
  ++iterations_done_;
  metrics.env_steps = env_steps_;
  metrics.time.total = whole.lap();
  return metrics;
}

double GflowVlmTrainer::gflownet_iteration(IterationMetrics& metrics, Stopwatch& watch) {
  RolloutResult played = play_episodes(model_, tokenizer_, envs_, next_seeds(), config_.rollout, gen_);
  metrics.time.generate += played.generate_seconds;
  metrics.time.environment += played.environment_seconds;
  env_steps_ += played.steps;
  const EpisodeSummary summary = summarize(played.episodes);
  metrics.mean_log_reward = summary.log_reward;
  metrics.success_rate = summary.success;
  metrics.mean_steps = summary.steps;
  metrics.invalid_rate = played.steps > 0 ? static_cast<double>(played.invalid) / static_cast<double>(played.steps) : 0;

  std::vector<Episode> batch = played.episodes;
  if (config_.off_policy) {
    watch.lap();
    for (Episode& e : played.episodes) {
      const std::uint64_t seed = e.seed;
      record_episode(buffer_, std::move(e), [&] {
        std::optional<Episode> expert = play_expert_episode(scratch_env_, tokenizer_, model_, seed);
        if (expert.has_value()) env_steps_ += static_cast<int64_t>(expert->steps.size());
        return expert;
      });
    }
    metrics.time.environment += watch.lap();
    const std::vector<Episode> replayed = buffer_.sample(config_.replay, gen_);
    batch.insert(batch.end(), replayed.begin(), replayed.end());
  }
  watch.lap();
  const ScoredEpisodes scored =
      score_episodes(model_, tokenizer_, scratch_env_, batch, {config_.rollout.temperature, config_.lambda_cot});
  metrics.time.environment += scored.replay_seconds;
  metrics.time.score += watch.lap() - scored.replay_seconds;
  IterationTimes& time = metrics.time;
  switch (config_.method) {
    case Method::var_tb:
      return update(var_tb_loss(scored.batch, seed_groups(batch, scored.batch.lengths.device())), time, watch);
    case Method::tb:
      return update(tb_loss(scored.batch, log_z_), time, watch);
    case Method::subtb:
      return update(subtb_loss(scored.batch, config_.subtb), time, watch);
    case Method::db:
      return update(db_loss(scored.batch), time, watch);
    default:
      SUBTB_THROW("GflowVlmTrainer: ", to_string(config_.method), " is not a GFlowNet objective");
  }
}

double GflowVlmTrainer::sft_iteration(IterationMetrics& metrics, Stopwatch& watch) {
  std::vector<Episode> batch;
  for (std::uint64_t seed : next_seeds()) {
    std::optional<Episode> expert = play_expert_episode(scratch_env_, tokenizer_, model_, seed);
    SUBTB_CHECK(expert.has_value(), "GflowVlmTrainer: task '", config_.task, "' has no expert to imitate");
    batch.push_back(std::move(*expert));
  }
  env_steps_ += total_steps(batch);
  metrics.time.environment += watch.lap();
  const EpisodeSummary summary = summarize(batch);
  metrics.mean_log_reward = summary.log_reward;
  metrics.success_rate = summary.success;
  metrics.mean_steps = summary.steps;
  // The expert's answers at temperature 1 (plain likelihood), and its [DONE] where it won
  // (unless config_.sft_teach_done is off).
  watch.lap();
  const ScoredEpisodes scored = score_episodes(model_, tokenizer_, scratch_env_, batch, {1.0, 1.0});
  metrics.time.environment += scored.replay_seconds;
  metrics.time.score += watch.lap() - scored.replay_seconds;
  const int64_t s = scored.batch.log_done.shape()[1];
  std::vector<int64_t> done_at;
  int64_t count = 0;
  for (size_t b = 0; b < batch.size(); ++b) {
    for (const EpisodeStep& step : batch[b].steps) count += static_cast<int64_t>(step.answer.size());
    if (config_.sft_teach_done && batch[b].success) {
      done_at.push_back(static_cast<int64_t>(b) * s + static_cast<int64_t>(batch[b].steps.size()));
    }
  }
  Tensor log_likelihood = sum(scored.token_log_probs);
  if (!done_at.empty()) log_likelihood = log_likelihood + sum(step_entries(scored.batch.log_done, done_at));
  count += static_cast<int64_t>(done_at.size());
  SUBTB_CHECK(count > 0, "GflowVlmTrainer: the expert's episodes hold no answer to imitate");
  return update(neg(log_likelihood) / static_cast<double>(count), metrics.time, watch);
}

double GflowVlmTrainer::ppo_iteration(IterationMetrics& metrics, Stopwatch& watch) {
  const RolloutResult played = play_episodes(model_, tokenizer_, envs_, next_seeds(), config_.rollout, gen_);
  metrics.time.generate += played.generate_seconds;
  metrics.time.environment += played.environment_seconds;
  env_steps_ += played.steps;
  const EpisodeSummary summary = summarize(played.episodes);
  metrics.mean_log_reward = summary.log_reward;
  metrics.success_rate = summary.success;
  metrics.mean_steps = summary.steps;
  metrics.invalid_rate = played.steps > 0 ? static_cast<double>(played.invalid) / static_cast<double>(played.steps) : 0;

  const ScoreOptions options{config_.rollout.temperature, config_.lambda_cot};
  const int64_t b = static_cast<int64_t>(played.episodes.size());
  int64_t s = 0;
  for (const Episode& e : played.episodes) s = std::max(s, static_cast<int64_t>(e.steps.size()));
  // Episodes that stopped in s_0 have no step to reinforce; with none at all, nothing trains.
  if (s == 0) return 0.0;
  std::vector<double> rewards(static_cast<size_t>(b * s), 0.0);
  std::vector<uint8_t> dones(static_cast<size_t>(b * s), 1);
  std::vector<int64_t> steps;
  for (int64_t e = 0; e < b; ++e) {
    const auto& r = played.rewards[static_cast<size_t>(e)];
    for (size_t t = 0; t < r.size(); ++t) {
      rewards[static_cast<size_t>(e * s) + t] = r[t];
      dones[static_cast<size_t>(e * s) + t] = t + 1 == r.size() ? 1 : 0;
      steps.push_back(e * s + static_cast<int64_t>(t));
    }
  }
  // The rollout's log-probabilities and values, the constants of the clipped objective.
  Tensor old_log_pf, old_values, advantages, returns;
  IterationTimes& time = metrics.time;
  watch.lap();
  {
    NoGradGuard no_grad;
    const ScoredEpisodes old = score_episodes(model_, tokenizer_, scratch_env_, played.episodes, options);
    const Tensor values = value_head_->forward(old.state_hidden);  // [B, S + 1]
    time.environment += old.replay_seconds;
    time.score += watch.lap() - old.replay_seconds;
    const Tensor step_values = values.narrow(1, 0, s);
    const Device device = values.device();
    const Advantages gae = generalized_advantages(from_vector(rewards, {b, s}, device).to(values.dtype()), step_values,
                                                  from_buffer(dones.data(), {b, s}, DType::b8, device),
                                                  zeros({b}, values.dtype(), device), config_.gae);
    old_log_pf = step_entries(old.batch.log_pf, steps);
    old_values = step_entries(step_values.contiguous(), steps);
    // A lone step (every other episode stopped at once) has no spread to standardise by; its
    // advantage is used as it is.
    const Tensor raw = step_entries(gae.advantages.contiguous(), steps);
    advantages = steps.size() >= 2 ? normalize_advantages(raw) : raw;
    returns = step_entries(gae.returns.contiguous(), steps);
    time.backward += watch.lap();
  }
  double loss = 0.0;
  for (int64_t epoch = 0; epoch < config_.ppo_epochs; ++epoch) {
    const ScoredEpisodes scored = score_episodes(model_, tokenizer_, scratch_env_, played.episodes, options);
    const Tensor values = value_head_->forward(scored.state_hidden).narrow(1, 0, s).contiguous();
    time.environment += scored.replay_seconds;
    time.score += watch.lap() - scored.replay_seconds;
    const PpoLoss ppo = ppo_loss(step_entries(scored.batch.log_pf, steps), old_log_pf, advantages,
                                 step_entries(values, steps), old_values, returns, config_.ppo);
    loss = update(ppo.total, time, watch);
  }
  return loss;
}

EvalOptions GflowVlmTrainer::eval_options(int64_t episodes, std::uint64_t first_seed) const {
  EvalOptions options;
  options.episodes = episodes;
  options.first_seed = first_seed;
  options.rollout = config_.rollout;
  return options;
}

EvalMetrics GflowVlmTrainer::evaluate(const EvalOptions& options, std::string_view task) {
  const std::string name(task.empty() ? std::string_view(config_.task) : task);
  const TaskFactory make_task = [&] { return subtb::vlm::make_task(name, config_.task_options); };
  return evaluate_policy(model_, tokenizer_, make_task, env_options(), options);
}

}  // namespace subtb::gflownet::vlm
