#pragma once

namespace subtb::cards {

// What one move of a card game returns: the game's own reward (RL4VLM's) and whether
// the episode ended by the rules (terminated) or by a length limit (truncated).
struct GameStep {
  double reward = 0;
  bool terminated = false;
  bool truncated = false;
  bool over() const { return terminated || truncated; }
};

}  // namespace subtb::cards
