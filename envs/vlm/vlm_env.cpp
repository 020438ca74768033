#include "envs/vlm/vlm_env.h"

#include "tensor/error.h"

namespace subtb::vlm {

VlmEnv::VlmEnv(std::unique_ptr<Task> task, EnvOptions options)
    : task_(std::move(task)), options_(options), max_steps_(0), history_window_(0) {
  SUBTB_CHECK(task_ != nullptr, "VlmEnv: no task given");
  SUBTB_CHECK(options_.max_steps >= 0, "VlmEnv(", task_->name(), "): max_steps ", options_.max_steps,
              " is negative");
  max_steps_ = options_.max_steps > 0 ? options_.max_steps : task_->default_max_steps();
  SUBTB_CHECK(options_.history_window >= -1, "VlmEnv(", task_->name(), "): history_window ", options_.history_window,
              " is below -1 (the task's default)");
  history_window_ = options_.history_window >= 0 ? options_.history_window : task_->default_history_window();
}

void VlmEnv::reset(std::uint64_t seed) {
  task_->reset(seed);
  // The fallback's draws get their own stream, so they do not depend on the task's.
  fallback_rng_ = cards::Rng(seed ^ 0x6a09e667f3bcc908ull);
  steps_ = 0;
  over_ = false;
  history_.start(task_->state_text());
  refresh_actions();
  ++stats_.episodes;
}

void VlmEnv::refresh_actions() {
  actions_ = task_->actions();
  if (options_.done_action && !over_) actions_.emplace_back(done_action_text);
}

std::string VlmEnv::prompt() const {
  return build_prompt(*task_, options_.prompt, options_.done_action, history_.text(history_window_));
}

StepResult VlmEnv::step_text(std::string_view generated) {
  SUBTB_CHECK(!over_, "VlmEnv(", task_->name(), ")::step_text: the episode is over; call reset");
  const ParsedAction parsed = parse_action(generated, actions_);
  if (parsed.ok()) return take(parsed.index, ParseStatus::ok);
  ++stats_.invalid;
  if (options_.on_invalid == InvalidFallback::random_action) {
    const std::size_t task_actions = actions_.size() - (options_.done_action ? 1 : 0);
    return take(fallback_rng_.below(static_cast<std::uint32_t>(task_actions)), parsed.status);
  }
  ++steps_;
  ++stats_.steps;
  StepResult result;
  result.parse = parsed.status;
  result.reward = options_.reward == RewardMode::rl4vlm ? options_.invalid_penalty : 0.0;
  result.truncated = steps_ >= max_steps_;
  return finish(result);
}

StepResult VlmEnv::step(std::size_t index) {
  SUBTB_CHECK(!over_, "VlmEnv(", task_->name(), ")::step: the episode is over; call reset");
  SUBTB_CHECK(index < actions_.size(), "VlmEnv(", task_->name(), ")::step: action ", index, " is not below ",
              actions_.size());
  return take(index, ParseStatus::ok);
}

StepResult VlmEnv::take(std::size_t index, ParseStatus parse) {
  ++steps_;
  ++stats_.steps;
  StepResult result;
  result.parse = parse;
  result.action = actions_[index];
  if (options_.done_action && index == actions_.size() - 1) {
    result.terminated = true;
    history_.add(result.action, task_->state_text());
    return finish(result);
  }
  const TaskStep s = task_->step(index);
  result.reward = options_.reward == RewardMode::rl4vlm ? s.reward : 0.0;
  result.terminated = s.terminated;
  result.truncated = s.truncated || (!s.terminated && steps_ >= max_steps_);
  history_.add(result.action, task_->state_text());
  return finish(result);
}

StepResult VlmEnv::finish(StepResult result) {
  over_ = result.over();
  if (over_ && options_.reward == RewardMode::gflownet) result.reward = task_->gflownet_reward();
  refresh_actions();
  return result;
}

std::optional<ExpertAnswer> VlmEnv::expert() {
  if (over_) {
    if (!options_.done_action || !task_->success()) return std::nullopt;
  }
  return task_->expert();
}

}  // namespace subtb::vlm
