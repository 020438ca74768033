#pragma once
// Task: one environment as a vision-language model plays it — an image, a text
// description, and actions named in text. The card games (envs/vlm/card_tasks.h)
// implement it; VlmEnv (envs/vlm/vlm_env.h) wraps any Task with prompts, the action
// parser, [DONE], reward modes and truncation, so a new task writes only its rules' view.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "envs/render/canvas.h"

namespace subtb::vlm {

// One step of the task under its own rules: RL4VLM's reward for the move.
struct TaskStep {
  double reward = 0;
  bool terminated = false;  // the rules ended the episode
  bool truncated = false;   // a limit of the task ended it (e.g. formula length)
  bool over() const { return terminated || truncated; }
};

// A field of the JSON answer a prompt asks for, as the prompt shows it:
// "key": placeholder (the placeholder is prompt text, quotes included when wanted).
struct AnswerField {
  std::string key;
  std::string placeholder;
};

// An expert's answer: the action's text and the full JSON answer, chain of thought
// included, that an SFT example teaches.
struct ExpertAnswer {
  std::string action;
  nlohmann::ordered_json answer;
};

class Task {
 public:
  virtual ~Task() = default;

  virtual std::string name() const = 0;
  // The kind of the current task, for per-category evaluation (the household world: its
  // ALFWorld task type, e.g. "pick_and_place_simple"); "" for a task without kinds.
  virtual std::string category() const { return ""; }
  virtual void reset(std::uint64_t seed) = 0;
  // The actions that may be taken now, as the model should write them.
  virtual std::vector<std::string> actions() const = 0;
  // Takes actions()[index].
  virtual TaskStep step(std::size_t index) = 0;
  // Whether the episode so far reached the task's goal.
  virtual bool success() const = 0;

  // GFlowVLM's reward R of ending the episode in the current state (> 0).
  virtual double gflownet_reward() const = 0;
  // Default step limit of an episode (GFlowVLM: 10 for the card games).
  virtual int default_max_steps() const = 0;
  // Default number of last steps GFlowVLM's prompt shows of the history (0: all). A
  // window shortens the prompt only: the state is still the whole history.
  virtual int default_history_window() const { return 0; }

  virtual void render(render::Canvas& image) const = 0;
  // The current state in a few words, for the "State t: ..." history of GFlowVLM's prompt.
  virtual std::string state_text() const = 0;
  // RL4VLM's task description for the current state (before the answer format).
  virtual std::string description() const = 0;
  // The answer's fields before "action" (e.g. "thoughts"); the prompt adds "action".
  virtual std::vector<AnswerField> answer_fields() const = 0;
  // The prompt's placeholder for "action", e.g. "\"-\" or \"+\"".
  virtual std::string action_placeholder() const = 0;
  // The task's expert in the current state; empty when it has none. Once the episode
  // is over it answers "[DONE]" (with thoughts on why the task is complete), the last
  // step of GFlowVLM's SFT trajectories.
  virtual std::optional<ExpertAnswer> expert() = 0;
};

}  // namespace subtb::vlm
