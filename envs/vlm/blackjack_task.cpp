#include <algorithm>

#include "envs/cards/blackjack_odds.h"
#include "envs/vlm/card_tasks.h"

namespace subtb::vlm {
namespace {

// "Q, 7"
std::string card_list(std::span<const cards::Card> hand) {
  std::string out;
  for (cards::Card c : hand) {
    if (!out.empty()) out += ", ";
    out += cards::rank_label(c.rank);
  }
  return out;
}

std::string total_text(cards::HandValue v) {
  return std::to_string(v.total) + (v.soft ? " (soft: an ace counts 11)" : "");
}

double result_reward(double r) { return std::max(1e-10, (r + 1) * 10); }

}  // namespace

BlackJackTask::BlackJackTask(Expert expert, EarlyStop early_stop) : expert_(expert), early_stop_(early_stop) {}

std::vector<std::string> BlackJackTask::actions() const {
  return {std::string(cards::BlackJack::action_names[0]), std::string(cards::BlackJack::action_names[1])};
}

TaskStep BlackJackTask::step(std::size_t index) {
  const cards::GameStep s = game_.step(static_cast<int>(index));
  return {s.reward, s.terminated, s.truncated};
}

double BlackJackTask::gflownet_reward() const {
  if (game_.over()) return result_reward(game_.result());
  if (early_stop_ == EarlyStop::forfeit) return result_reward(-1);
  const cards::StandOdds odds =
      cards::stand_odds(game_.player_value().total, cards::card_value(game_.dealer_up_card()));
  return result_reward(odds.win - odds.loss);
}

std::string BlackJackTask::state_text() const {
  std::string out = "player " + card_list(game_.player()) + " (" + std::to_string(game_.player_value().total) +
                    "), dealer shows " + std::string(cards::rank_label(game_.dealer_up_card().rank));
  if (game_.over()) out += game_.result() > 0 ? ", won" : game_.result() == 0 ? ", draw" : ", lost";
  return out;
}

std::string BlackJackTask::description() const {
  return "You are a blackjack player. You are observing the current game state, you can choose between ['stand', "
         "'hit'].";
}

std::vector<AnswerField> BlackJackTask::answer_fields() const {
  return {{"thoughts",
           "\"{first describe your total points and the dealer's total points then think about which action to "
           "choose}\""}};
}

std::optional<ExpertAnswer> BlackJackTask::expert() {
  const cards::HandValue mine = game_.player_value();
  const cards::Card up = game_.dealer_up_card();
  std::string thoughts = "My cards are " + card_list(game_.player()) + ", a total of " + total_text(mine) +
                         ". The dealer shows " + std::string(cards::rank_label(up.rank)) + ". ";
  std::string action;
  if (game_.over()) {
    if (game_.result() <= 0) return std::nullopt;
    thoughts += "I won the game, so the task is complete.";
    action = "[DONE]";
  } else if (expert_ == Expert::stand_at_17) {
    const bool stand = cards::blackjack_stand_at_17(game_) == cards::BlackJack::stand;
    thoughts += stand ? "My total is 17 or more, so I stand." : "My total is below 17, so I hit.";
    action = stand ? "stand" : "hit";
  } else {
    const bool stand = cards::blackjack_basic_strategy(game_) == cards::BlackJack::stand;
    thoughts += std::string("Against a dealer showing ") + std::string(cards::rank_label(up.rank)) + ", " +
                (mine.soft ? "soft " : "hard ") + std::to_string(mine.total) + " should " +
                (stand ? "stand, so I stand." : "take another card, so I hit.");
    action = stand ? "stand" : "hit";
  }
  nlohmann::ordered_json answer;
  answer["thoughts"] = thoughts;
  answer["action"] = action;
  return ExpertAnswer{action, std::move(answer)};
}

}  // namespace subtb::vlm
