#include "envs/cards/numberline.h"

#include <cstdlib>
#include <string>

#include "envs/render/font.h"
#include "tensor/error.h"

namespace subtb::cards {

NumberLine::NumberLine(NumberLineConfig config) : config_(config) {
  SUBTB_CHECK(config.low < config.high, "NumberLine: low ", config.low, " must be below high ", config.high);
  SUBTB_CHECK(config.max_steps > 0, "NumberLine: max_steps ", config.max_steps, " must be positive");
}

void NumberLine::reset(std::uint64_t seed) {
  Rng rng(seed);
  current_ = rng.between(config_.low, config_.high);
  target_ = rng.between(config_.low, config_.high);
  if (target_ == current_) target_ = config_.low + (target_ - config_.low + 1) % (config_.high - config_.low);
  steps_ = 0;
  over_ = false;
}

GameStep NumberLine::step(int action) {
  SUBTB_CHECK(!over_, "NumberLine::step: the episode is over; call reset");
  SUBTB_CHECK(action == minus || action == plus, "NumberLine::step: action ", action, " is not 0 (-) or 1 (+)");
  const int before = std::abs(target_ - current_);
  if (action == minus && current_ > config_.low) --current_;
  if (action == plus && current_ < config_.high) ++current_;
  ++steps_;
  GameStep out;
  if (current_ == target_) {
    out.reward = 1;
    out.terminated = true;
  } else {
    out.reward = std::abs(target_ - current_) >= before ? -1 : 0;
    out.truncated = steps_ >= config_.max_steps;
  }
  over_ = out.over();
  return out;
}

void NumberLine::render(render::Canvas& canvas) const {
  const render::Font& font = render::Font::dejavu_sans_bold();
  canvas.reset(image_size, image_size, render::colors::white);
  font.draw(canvas, "Target: " + std::to_string(target_), 30, 60, 36, render::colors::black);
  font.draw(canvas, "Current: " + std::to_string(current_), 30, 180, 36, render::colors::black);
}

}  // namespace subtb::cards
