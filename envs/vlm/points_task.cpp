#include <algorithm>

#include "envs/vlm/card_tasks.h"

namespace subtb::vlm {
namespace {

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& s : items) out += (out.size() > 1 ? ", '" : "'") + s + "'";
  return out + "]";
}

std::string number_word(int n) {
  static constexpr const char* words[] = {"zero", "one", "two", "three", "four", "five", "six"};
  return n >= 0 && n <= 6 ? words[n] : std::to_string(n);
}

}  // namespace

PointsTask::PointsTask(cards::PointsConfig config) : game_(std::move(config)) {}

TaskStep PointsTask::step(std::size_t index) {
  const cards::GameStep s = game_.step(static_cast<int>(index));
  return {s.reward, s.terminated, s.truncated};
}

bool PointsTask::formula_solves() const {
  const auto numbers = std::count_if(game_.formula().begin(), game_.formula().end(),
                                     [](cards::Token t) { return t.kind == cards::Token::number; });
  return numbers == game_.config().num_cards &&
         cards::evaluate(game_.formula()) == cards::Rational{game_.config().target, 1};
}

double PointsTask::gflownet_reward() const {
  // Ending is a win when "=" was accepted, or when [DONE] comes on a solving formula.
  const bool win = game_.success() || (!game_.over() && formula_solves());
  return win ? 20.0 : 1e-10;
}

std::string PointsTask::state_text() const { return "formula '" + game_.formula_text() + "'"; }

std::string PointsTask::description() const {
  const cards::PointsConfig& c = game_.config();
  const std::string target = std::to_string(c.target);
  return "You are an expert card game player. You are observing " + number_word(c.num_cards) +
         " cards in the image. You are observing the current formula: '" + game_.formula_text() +
         "'. You can choose between " + quoted_list(game_.action_names()) +
         ". The number or operator you choose will be appended to the current formula. Note that 'J', 'Q', and "
         "'K' count as '10'. Your goal is to output a formula that evaluates to " + target +
         ", and each number can only be used once. If the current formula equals " + target + ", choose '='.";
}

std::vector<AnswerField> PointsTask::answer_fields() const {
  const std::string target = std::to_string(game_.config().target);
  std::string cards = "[x";
  for (int i = 1; i < game_.config().num_cards; ++i) cards += ", " + std::string(1, static_cast<char>('x' + i % 3));
  return {{"cards", cards + "]"},
          {"current formula", "\"z\""},
          {"thoughts",
           "\"{First check whether the current formula 'z' is complete. If the current formula 'z' is complete, "
           "output '='. Otherwise consider which number or operator should be appended to the current formula to "
           "make it equal " + target + ".}\""}};
}

std::optional<ExpertAnswer> PointsTask::expert() {
  const std::string formula = game_.formula_text();
  const std::string target = std::to_string(game_.config().target);
  std::string thoughts = "The cards show ";
  nlohmann::ordered_json values = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < game_.cards().size(); ++i) {
    const cards::Card c = game_.cards()[i];
    thoughts += std::string(i == 0 ? "" : i + 1 == game_.cards().size() ? " and " : ", ") +
                std::string(cards::rank_label(c.rank));
    values.push_back(cards::card_value(c));
  }
  thoughts += ". ";
  std::string action;
  if (game_.over()) {
    if (!game_.success()) return std::nullopt;
    thoughts += "The formula '" + formula + "' equals " + target + " and was accepted, so the task is complete.";
    action = "[DONE]";
  } else {
    const int a = expert_.act(game_);
    action = game_.action_names()[static_cast<std::size_t>(a)];
    if (a == game_.equals_action()) {
      thoughts += formula_solves() ? "The current formula '" + formula + "' is complete: it uses every card and "
                                         "equals " + target + ", so I output '='."
                                   : "The current formula '" + formula + "' cannot be completed to " + target +
                                         ", so I end it with '='.";
    } else {
      thoughts += "The current formula '" + formula + "' is not complete. " +
                  cards::formula_text(expert_.last_plan()) + " = " +
                  target + " uses every card once, so I append '" + action + "'.";
    }
  }
  nlohmann::ordered_json answer;
  answer["cards"] = values;
  answer["current formula"] = formula;
  answer["thoughts"] = thoughts;
  answer["action"] = action;
  return ExpertAnswer{action, std::move(answer)};
}

}  // namespace subtb::vlm
