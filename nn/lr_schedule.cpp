#include "nn/lr_schedule.h"

#include <cmath>
#include <numbers>

#include "tensor/error.h"

namespace subtb::nn {

namespace {

void check_step(const char* schedule, int64_t step) {
  SUBTB_CHECK(step >= 0, schedule, ": step must be non-negative, got ", step);
}

double warmup_factor(int64_t step, int64_t warmup_steps) {
  return static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
}

}  // namespace

LrSchedule constant_lr(int64_t warmup_steps) {
  SUBTB_CHECK(warmup_steps >= 0, "constant_lr: warmup_steps must be non-negative, got ", warmup_steps);
  return [=](int64_t step) {
    check_step("constant_lr", step);
    return step < warmup_steps ? warmup_factor(step, warmup_steps) : 1.0;
  };
}

LrSchedule step_decay(int64_t step_size, double gamma) {
  SUBTB_CHECK(step_size > 0, "step_decay: step_size must be positive, got ", step_size);
  SUBTB_CHECK(std::isfinite(gamma) && gamma >= 0, "step_decay: invalid gamma ", gamma);
  return [=](int64_t step) {
    check_step("step_decay", step);
    return std::pow(gamma, static_cast<double>(step / step_size));
  };
}

LrSchedule warmup_cosine(int64_t warmup_steps, int64_t total_steps, double min_factor) {
  SUBTB_CHECK(warmup_steps >= 0 && total_steps > warmup_steps, "warmup_cosine: need 0 <= warmup_steps < total_steps, ",
              "got warmup_steps ", warmup_steps, " and total_steps ", total_steps);
  SUBTB_CHECK(min_factor >= 0 && min_factor <= 1, "warmup_cosine: min_factor must be in [0, 1], got ", min_factor);
  return [=](int64_t step) {
    check_step("warmup_cosine", step);
    if (step < warmup_steps) return warmup_factor(step, warmup_steps);
    if (step >= total_steps) return min_factor;
    const double progress =
        static_cast<double>(step - warmup_steps) / static_cast<double>(total_steps - warmup_steps);
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
  };
}

}  // namespace subtb::nn
