#include "envs/vlm/prompt.h"

#include "tensor/error.h"

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
  state_starts_.assign(1, 0);
}

void History::add(std::string_view action, std::string_view state) {
  const std::string t = std::to_string(state_starts_.size());
  text_ += " Action " + t + ": \"";
  text_ += action;
  text_ += "\" ";
  state_starts_.push_back(text_.size());
  text_ += "State " + t + ": ";
  text_ += state;
}

std::string History::text(int window) const {
  SUBTB_CHECK(window >= 0, "History::text: window ", window, " is negative");
  if (window == 0 || window >= steps()) return text_;
  return "... " + text_.substr(state_starts_[static_cast<std::size_t>(steps() - window)]);
}

}  // namespace subtb::vlm
