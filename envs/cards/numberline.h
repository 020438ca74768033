#pragma once
// NumberLine (RL4VLM's gym-cards): move `current` one step at a time until it equals
// `target`. Both start uniform in [low, high]; the OOD variant draws from 10..50.
#include <array>
#include <cstdint>
#include <string_view>

#include "envs/cards/game_step.h"
#include "envs/cards/rng.h"
#include "envs/render/canvas.h"

namespace subtb::cards {

struct NumberLineConfig {
  int low = 0;
  int high = 5;
  int max_steps = 10;  // truncation
};

// Numbers 10..50, the out-of-distribution test of GFlowVLM.
inline NumberLineConfig numberline_ood_config() { return {10, 50, 10}; }

class NumberLine {
 public:
  enum Action : int { minus = 0, plus = 1 };
  static constexpr std::array<std::string_view, 2> action_names = {"-", "+"};
  static constexpr int image_size = 300;

  explicit NumberLine(NumberLineConfig config = {});

  // Draws start and target uniformly in [low, high]; when they coincide the target
  // moves to low + (target - low + 1) mod (high - low), RL4VLM's (target + 1) % 5.
  void reset(std::uint64_t seed);
  // "-" / "+" move by one; at the boundary the move does nothing. Reward +1 (and the
  // episode ends) on reaching the target, -1 when the distance did not shrink, else 0.
  GameStep step(int action);

  int current() const { return current_; }
  int target() const { return target_; }
  int steps() const { return steps_; }
  bool over() const { return over_; }
  bool success() const { return current_ == target_; }
  const NumberLineConfig& config() const { return config_; }

  // 300x300, white, black DejaVu Sans Bold 36: "Target: t" at (30, 60) and
  // "Current: c" at (30, 180).
  void render(render::Canvas& canvas) const;

 private:
  NumberLineConfig config_;
  int current_ = 0;
  int target_ = 0;
  int steps_ = 0;
  bool over_ = true;
};

}  // namespace subtb::cards
