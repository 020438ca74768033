#include <cstdlib>

#include "envs/vlm/card_tasks.h"

namespace subtb::vlm {

NumberLineTask::NumberLineTask(cards::NumberLineConfig config, std::string name)
    : game_(config), name_(std::move(name)) {}

std::vector<std::string> NumberLineTask::actions() const {
  return {std::string(cards::NumberLine::action_names[0]), std::string(cards::NumberLine::action_names[1])};
}

TaskStep NumberLineTask::step(std::size_t index) {
  const cards::GameStep s = game_.step(static_cast<int>(index));
  return {s.reward, s.terminated, s.truncated};
}

double NumberLineTask::gflownet_reward() const {
  return reward_scale / (std::abs(game_.target() - game_.current()) + 1);
}

std::string NumberLineTask::description() const {
  return "You are playing a game called number line. You will see a target number and a current number in the "
         "image. And your goal is to move the current number closer to the target by choosing either adding or "
         "subtracting one to the current number.";
}

std::vector<AnswerField> NumberLineTask::answer_fields() const {
  return {{"current number", "\"x\""},
          {"target number", "\"x\""},
          {"thoughts",
           "\"{first read out the current and target number, then think carefully about which action to "
           "choose}\""}};
}

std::optional<ExpertAnswer> NumberLineTask::expert() {
  const int current = game_.current(), target = game_.target();
  const std::string c = std::to_string(current), t = std::to_string(target);
  std::string thoughts = "The current number is " + c + " and the target number is " + t + ". ";
  std::string action;
  if (game_.over() && game_.success()) {
    thoughts += "They are equal, so the task is complete.";
    action = "[DONE]";
  } else if (game_.over()) {
    return std::nullopt;
  } else {
    const int move = cards::numberline_expert(game_);
    const bool up = move == cards::NumberLine::plus;
    thoughts += c;
    thoughts += up ? " is smaller than " : " is larger than ";
    thoughts += t;
    thoughts += up ? ", so I should add one to the current number."
                   : ", so I should subtract one from the current number.";
    action = cards::NumberLine::action_names[static_cast<std::size_t>(move)];
  }
  nlohmann::ordered_json answer;
  answer["current number"] = c;
  answer["target number"] = t;
  answer["thoughts"] = thoughts;
  answer["action"] = action;
  return ExpertAnswer{action, std::move(answer)};
}

}  // namespace subtb::vlm
