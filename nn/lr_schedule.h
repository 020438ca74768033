#pragma once
// Learning-rate schedules as functions of the step: each returns the factor that
// multiplies every parameter group's base lr for the update about to be taken at
// `step` (0-based). Drive an optimizer with `opt.scale_lr(schedule(step))`.
#include <cstdint>
#include <functional>

namespace subtb::nn {

using LrSchedule = std::function<double(int64_t step)>;

// 1 throughout, after an optional linear warmup (below).
LrSchedule constant_lr(int64_t warmup_steps = 0);
// gamma^floor(step / step_size).
LrSchedule step_decay(int64_t step_size, double gamma);
// Linear warmup, (step + 1) / warmup_steps for step < warmup_steps, so that the first
// update already moves; then a half cosine from 1 down to min_factor at total_steps,
// and min_factor after (min lr = min_factor * base lr).
LrSchedule warmup_cosine(int64_t warmup_steps, int64_t total_steps, double min_factor = 0.0);

}  // namespace subtb::nn
