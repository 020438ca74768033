#pragma once
// Prompt texts. RL4VLM's: the task's description, then "Your response should be a valid
// json file in the following format:" and the answer's fields. GFlowVLM's adds the
// history of the episode ("State 0: 1 Action 1: "+" State 1: 2") before the format.
// With [DONE] offered, the prompt adds "Use [DONE] when you think you have completed the
// task." and lists "[DONE]" among the action's options.
#include <string>
#include <string_view>

#include "envs/vlm/task.h"

namespace subtb::vlm {

enum class PromptStyle { rl4vlm, gflowvlm };

inline constexpr std::string_view done_action_text = "[DONE]";

// `history` is the text History::text() gives; RL4VLM's style ignores it.
std::string build_prompt(const Task& task, PromptStyle style, bool done_action, std::string_view history);

// The episode so far: "State 0: s0 Action 1: "a1" State 1: s1 ...".
class History {
 public:
  void start(std::string_view state);
  void add(std::string_view action, std::string_view state);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  int steps_ = 0;
};

}  // namespace subtb::vlm
