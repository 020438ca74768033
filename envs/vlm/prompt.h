#pragma once
// Prompt texts. RL4VLM's: the task's description, then "Your response should be a valid
// json file in the following format:" and the answer's fields. GFlowVLM's adds the
// history of the episode ("State 0: 1 Action 1: "+" State 1: 2") before the format.
// With [DONE] offered, the prompt adds "Use [DONE] when you think you have completed the
// task." and lists "[DONE]" among the action's options.
#include <string>
#include <string_view>
#include <vector>

#include "envs/vlm/task.h"

namespace subtb::vlm {

enum class PromptStyle { rl4vlm, gflowvlm };

inline constexpr std::string_view done_action_text = "[DONE]";

// `history` is a text History::text() gives; RL4VLM's style ignores it.
std::string build_prompt(const Task& task, PromptStyle style, bool done_action, std::string_view history);

// The episode so far: "State 0: s0 Action 1: "a1" State 1: s1 ...".
class History {
 public:
  void start(std::string_view state);
  void add(std::string_view action, std::string_view state);
  // The whole episode.
  const std::string& text() const { return text_; }
  // Its last `window` steps (all of it when window is 0 or covers it): "... State t-w:
  // s Action t-w+1: ..." where "... " stands for the states and actions left out; the
  // step numbers stay those of the episode.
  std::string text(int window) const;
  int steps() const { return static_cast<int>(state_starts_.size()) - 1; }

 private:
  std::string text_;
  std::vector<std::size_t> state_starts_;  // where "State t:" begins in text_
};

}  // namespace subtb::vlm
