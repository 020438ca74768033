#include "envs/vlm/prompt.h"

namespace subtb::vlm {

std::string build_prompt(const Task& task, PromptStyle style, bool done_action, std::string_view history) {
  std::string out = task.description();
  if (style == PromptStyle::gflowvlm) {
    out += "\nHistory: ";
    out += history;
  }
  if (done_action) {
    out += "\nUse ";
    out += done_action_text;
    out += " when you think you have completed the task.";
  }
  out += "\nYour response should be a valid json file in the following format:\n{\n";
  for (const AnswerField& field : task.answer_fields()) {
    out += "\"" + field.key + "\": " + field.placeholder + ",\n";
  }
  out += "\"action\": " + task.action_placeholder();
  if (done_action) {
    out += " or \"";
    out += done_action_text;
    out += "\"";
  }
  out += "\n}";
  return out;
}

void History::start(std::string_view state) {
  text_ = "State 0: ";
  text_ += state;
  steps_ = 0;
}

void History::add(std::string_view action, std::string_view state) {
  ++steps_;
  const std::string t = std::to_string(steps_);
  text_ += " Action " + t + ": \"";
  text_ += action;
  text_ += "\" State " + t + ": ";
  text_ += state;
}

}  // namespace subtb::vlm
