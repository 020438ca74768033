#pragma once
// VlmEnv: a Task as a model plays it. It builds the prompt, parses generated text into
// an action (counting outputs that name no single admissible action), offers [DONE],
// applies the step limit and gives rewards in RL4VLM's or GFlowVLM's terms.
//
// Rewards (EnvOptions::reward):
//   rl4vlm    the task's own reward at every step (NumberLine -1/0/+1, ...); [DONE] ends
//             the episode with 0.
//   gflownet  0 until the episode ends, then GFlowVLM's R of the final state
//             (NumberLine 100 / (|target - current| + 1), BlackJack max(1e-10, (r+1)*10));
//             reward_if_done() gives that R for every prefix, as SubTB's flows need.
// Invalid outputs (EnvOptions::on_invalid):
//   random_action  RL4VLM's: a uniformly random task action is taken instead ([DONE]
//                  is never chosen for the model).
//   penalty        nothing moves; the step costs `invalid_penalty` (rl4vlm rewards; 0
//                  under gflownet) and counts toward the step limit.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "envs/cards/rng.h"
#include "envs/vlm/action_parser.h"
#include "envs/vlm/prompt.h"
#include "envs/vlm/task.h"

namespace subtb::vlm {

enum class RewardMode { rl4vlm, gflownet };
enum class InvalidFallback { random_action, penalty };

struct EnvOptions {
  RewardMode reward = RewardMode::rl4vlm;
  PromptStyle prompt = PromptStyle::rl4vlm;
  bool done_action = false;  // offer "[DONE]" in every state (GFlowVLM)
  InvalidFallback on_invalid = InvalidFallback::random_action;
  double invalid_penalty = -1.0;
  int max_steps = 0;  // 0: the task's default_max_steps()
  // Steps of the history GFlowVLM's prompt shows: -1 the task's default_history_window(),
  // 0 all of them.
  int history_window = -1;
};

struct StepResult {
  std::string action;  // the action taken; empty when an invalid output was penalised
  ParseStatus parse = ParseStatus::ok;
  double reward = 0;
  bool terminated = false;  // by the task's rules or by [DONE]
  bool truncated = false;   // by the step limit or the task's own limit
  bool valid() const { return parse == ParseStatus::ok; }
  bool over() const { return terminated || truncated; }
};

// Counters since construction, for reporting how often outputs were unusable.
struct EnvStats {
  std::int64_t steps = 0;
  std::int64_t invalid = 0;
  std::int64_t episodes = 0;
};

class VlmEnv {
 public:
  explicit VlmEnv(std::unique_ptr<Task> task, EnvOptions options = {});

  void reset(std::uint64_t seed);
  // The admissible actions: the task's, then "[DONE]" when offered.
  const std::vector<std::string>& actions() const { return actions_; }
  // Parses generated text and takes the action it names (or the fallback).
  StepResult step_text(std::string_view generated);
  // Takes actions()[index].
  StepResult step(std::size_t index);

  std::string prompt() const;
  void render(render::Canvas& image) const { task_->render(image); }
  // GFlowVLM's R for ending the episode now: R(z_0:t [DONE]).
  double reward_if_done() const { return task_->gflownet_reward(); }
  // The expert's answer now; after a successful episode (with [DONE] offered), the
  // answer "[DONE]". Empty when there is nothing to teach.
  std::optional<ExpertAnswer> expert();

  bool over() const { return over_; }
  bool success() const { return task_->success(); }
  int steps() const { return steps_; }
  int max_steps() const { return max_steps_; }
  int history_window() const { return history_window_; }
  // The whole history "State 0: ... Action 1: ...", also where the prompt shows a window.
  const std::string& history() const { return history_.text(); }
  const EnvStats& stats() const { return stats_; }
  const EnvOptions& options() const { return options_; }
  Task& task() { return *task_; }
  const Task& task() const { return *task_; }

 private:
  StepResult take(std::size_t index, ParseStatus parse);
  StepResult finish(StepResult result);
  void refresh_actions();

  std::unique_ptr<Task> task_;
  EnvOptions options_;
  int max_steps_;
  int history_window_;
  std::vector<std::string> actions_;
  History history_;
  cards::Rng fallback_rng_;
  int steps_ = 0;
  bool over_ = true;
  EnvStats stats_;
};

}  // namespace subtb::vlm
