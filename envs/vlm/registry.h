#pragma once
// The VLM tasks by name, for the command line and the trainers.
#include <memory>
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

// "numberline", "numberline-ood", "blackjack", "ezpoints", "points24".
std::vector<std::string> task_names();
// Throws subtb::Error listing the known names for an unknown one.
std::unique_ptr<Task> make_task(std::string_view name, const TaskOptions& options = {});

}  // namespace subtb::vlm
