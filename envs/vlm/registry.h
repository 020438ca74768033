#pragma once
// The VLM tasks by name, for the command line and the trainers.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "envs/vlm/task.h"

namespace subtb::vlm {

struct TaskOptions {
  // The scripted player: "" for the task's default. BlackJack: "basic" (basic strategy,
  // the default) or "stand17" (GFlowVLM's stand at 17 or more).
  std::string expert;
};

// "numberline", "numberline-ood", "blackjack", "ezpoints", "points24", "household",
// "household-unseen".
std::vector<std::string> task_names();
// Throws subtb::Error listing the known names for an unknown one.
std::unique_ptr<Task> make_task(std::string_view name, const TaskOptions& options = {});

// The out-of-distribution variant of a task, evaluated beside it: numberline ->
// numberline-ood (numbers 10..50), household -> household-unseen (held-out scenes and
// combinations); nothing for the others.
std::optional<std::string> ood_task_name(std::string_view task);

}  // namespace subtb::vlm
