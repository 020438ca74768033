#include "envs/vlm/registry.h"

#include <algorithm>

#include "envs/household/vlm_task.h"
#include "envs/vlm/card_tasks.h"
#include "tensor/error.h"

namespace subtb::vlm {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

void check_no_expert_choice(std::string_view task, const TaskOptions& options) {
  SUBTB_CHECK(options.expert.empty(), "make_task: task '", task, "' has one expert; '", options.expert,
              "' is not an option (only blackjack takes basic or stand17)");
}

}  // namespace

std::vector<std::string> task_names() {
  return {"numberline", "numberline-ood", "blackjack", "ezpoints", "points24", "household", "household-unseen"};
}

std::optional<std::string> ood_task_name(std::string_view task) {
  if (task == "numberline") return "numberline-ood";
  if (task == "household") return "household-unseen";
  return std::nullopt;
}

std::unique_ptr<Task> make_task(std::string_view name, const TaskOptions& options) {
  const std::vector<std::string> known = task_names();
  SUBTB_CHECK(std::find(known.begin(), known.end(), name) != known.end(), "make_task: unknown task '", name,
              "' (known: ", joined(known), ")");
  if (name == "blackjack") {
    if (options.expert.empty() || options.expert == "basic") {
      return std::make_unique<BlackJackTask>(BlackJackTask::Expert::basic_strategy);
    }
    SUBTB_CHECK(options.expert == "stand17", "make_task: blackjack expert '", options.expert,
                "' is unknown (basic, stand17)");
    return std::make_unique<BlackJackTask>(BlackJackTask::Expert::stand_at_17);
  }
  check_no_expert_choice(name, options);
  if (name == "numberline") return std::make_unique<NumberLineTask>();
  if (name == "numberline-ood") return std::make_unique<NumberLineTask>(cards::numberline_ood_config(), "numberline-ood");
  if (name == "ezpoints") return std::make_unique<PointsTask>(cards::ezpoints_config());
  if (name == "household") return std::make_unique<household::HouseholdTask>();
  if (name == "household-unseen") {
    return std::make_unique<household::HouseholdTask>(household::HouseholdTaskOptions{household::Split::unseen});
  }
  return std::make_unique<PointsTask>(cards::points24_config());
}

}  // namespace subtb::vlm
