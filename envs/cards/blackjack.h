#pragma once
// BlackJack (RL4VLM's gym-cards, after Gymnasium's Blackjack): an infinite deck, two
// cards each, the dealer's second card hidden. Hit or stand; the dealer then draws while
// below 17 (standing on every 17, soft or hard). No doubling, splitting or naturals.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "envs/cards/card.h"
#include "envs/cards/game_step.h"
#include "envs/cards/rng.h"
#include "envs/render/canvas.h"

namespace subtb::cards {

// A hand's total: an ace counts 11 when that does not exceed 21 (then the hand is soft).
struct HandValue {
  int total = 0;
  bool soft = false;
  bool bust() const { return total > 21; }
};
HandValue hand_value(std::span<const Card> cards);

// One card of the infinite deck: values 1..9 and 10 equally likely per rank, so 10 has
// probability 4/13; a 10 shows as a random J, Q or K, an ace as A.
Card draw_blackjack_card(Rng& rng);

class BlackJack {
 public:
  enum Action : int { stand = 0, hit = 1 };
  static constexpr std::array<std::string_view, 2> action_names = {"stand", "hit"};
  static constexpr int image_size = 300;
  // 21 aces make 21, so a hand never holds more than 22 cards.
  static constexpr int max_hand = 22;

  void reset(std::uint64_t seed);
  // hit: a bust gives -1 and ends the game, otherwise 0. stand: the dealer plays out and
  // the game ends with +1 (win), 0 (push) or -1 (loss).
  GameStep step(int action);

  std::span<const Card> player() const { return {player_.data(), static_cast<std::size_t>(player_size_)}; }
  // The dealer's cards; [0] is the face-up card, [1] the hole card the player never sees.
  std::span<const Card> dealer() const { return {dealer_.data(), static_cast<std::size_t>(dealer_size_)}; }
  HandValue player_value() const { return hand_value(player()); }
  Card dealer_up_card() const { return dealer_[0]; }
  bool over() const { return over_; }
  // -1, 0 or +1 once the game is over.
  int result() const;

  // 300x300 on #35654d: "Dealer" at (5, 5), the up card at (5, 25) and a card back at
  // (78, 25); "Player" at (5, 130) and the player's cards from (5, 150), 70x98, 4 px
  // apart, fanned closer together when more than four would not fit in the row.
  void render(render::Canvas& canvas) const;

 private:
  Rng rng_;
  std::array<Card, max_hand> player_{};
  std::array<Card, max_hand> dealer_{};
  int player_size_ = 0;
  int dealer_size_ = 0;
  bool over_ = true;
  int result_ = 0;
};

}  // namespace subtb::cards
