#include "envs/household/vlm_task.h"

#include <algorithm>
#include <limits>

#include "envs/household/expert.h"
#include "envs/household/render.h"
#include "envs/vlm/prompt.h"
#include "tensor/error.h"

namespace subtb::household {
namespace {

constexpr double kGoalReward = 50.0;
constexpr double kSubgoalReward = 1.0;
constexpr double kRewardFloor = 1e-10;  // log R must stay finite

std::string_view verb_word(Verb verb) {
  switch (verb) {
    case Verb::heat: return "heat";
    case Verb::cool: return "cool";
    default: return "clean";
  }
}

}  // namespace

HouseholdTask::HouseholdTask(HouseholdTaskOptions options)
    // VlmEnv owns the step limit, so the world never truncates on its own.
    : options_(options), world_(WorldOptions{std::numeric_limits<int>::max()}) {
  SUBTB_CHECK(options.max_steps > 0, "HouseholdTask: max_steps must be positive, got ", options.max_steps);
  SUBTB_CHECK(options.history_window >= 0, "HouseholdTask: history_window must not be negative, got ",
              options.history_window);
}

std::string HouseholdTask::name() const { return options_.split == Split::seen ? "household" : "household-unseen"; }

std::string HouseholdTask::category() const { return std::string(household::name(world_.scenario().goal.type)); }

void HouseholdTask::reset(std::uint64_t seed) {
  // The opening reads "-= Welcome ... =-\n\n{the room}\n\nYour task is to: ...": the
  // history keeps the room; the task is in the prompt already.
  const std::string_view opening = world_.reset(generate_scenario(seed, options_.split));
  const std::size_t room = opening.find("\n\n") + 2;
  observe(opening.substr(room, opening.find("\n\n", room) - room));
}

void HouseholdTask::observe(std::string_view observation) {
  observation_.assign(observation);
  world_.admissible_commands(commands_);
}

vlm::TaskStep HouseholdTask::step(std::size_t index) {
  SUBTB_CHECK(index < commands_.size(), "HouseholdTask::step: action ", index, " is not below ", commands_.size());
  const StepResult r = world_.step(commands_[index]);
  observe(r.observation);
  return {r.reward, r.success, false};
}

double HouseholdTask::gflownet_reward() const {
  const double r = (world_.success() ? kGoalReward : 0.0) + (world_.best_conditions_met() > 0 ? kSubgoalReward : 0.0);
  return std::max(kRewardFloor, r);
}

void HouseholdTask::render(render::Canvas& image) const { render_location(world_, image); }

std::string HouseholdTask::description() const {
  std::string out =
      "You are an expert in the ALFRED Embodied Environment. You are also given the following text description of "
      "the current scene: ['";
  out += observation_;
  out += "']. Your task is to ";
  out += world_.scenario().goal_text;
  out += ". Your admissible actions of the current situation are: [";
  for (std::size_t i = 0; i < commands_.size(); ++i) {
    out += i ? ", '" : "'";
    out += commands_[i];
    out += '\'';
  }
  out += "].";
  return out;
}

std::vector<vlm::AnswerField> HouseholdTask::answer_fields() const {
  return {{"thoughts",
           "\"first describe what do you see in the image using the text description, then carefully think about "
           "which action to complete the task.\""}};
}

std::string HouseholdTask::expert_thoughts(const Action& action) const {
  const Scenario& s = world_.scenario();
  const Grammar g = world_.grammar();
  const std::string first(g.name_of(action.first)), second(g.name_of(action.second));
  std::string why = "My task is to " + s.goal_text + ". ";
  const int held = world_.held();
  const bool holding_goal_object = held >= 0 && s.objects[held].type == s.goal.object;
  switch (action.verb) {
    case Verb::go_to:
      if (held < 0)
        why += "I need a " + std::string(household::name(s.goal.object)) + ", and the " + first + " has one, so I go there.";
      else if (!holding_goal_object)
        why += "I do not need the " + std::string(g.name_of(object_ref(held))) + ", so I take it to the " + first +
               " to put it away.";
      else
        why += "I carry the " + std::string(g.name_of(object_ref(held))) + "; my next step is at the " + first +
               ", so I go there.";
      break;
    case Verb::open: why += "The " + first + " is closed, so I open it."; break;
    case Verb::take: why += "The " + first + " is here in the " + second + ", so I take it."; break;
    case Verb::heat:
    case Verb::cool:
    case Verb::clean:
      why += "I am at the " + second + " with the " + first + ", so I " + std::string(verb_word(action.verb)) + " it.";
      break;
    case Verb::put:
      why += holding_goal_object ? "The " + second + " is where the " + first + " belongs, so I put it there."
                                 : "I do not need the " + first + ", so I put it on the " + second + ".";
      break;
    case Verb::use: why += "I hold the object and the " + first + " is here, so I turn it on."; break;
    default: break;
  }
  return why;
}

std::optional<vlm::ExpertAnswer> HouseholdTask::expert() {
  std::string action, thoughts;
  if (world_.done()) {
    if (!world_.success()) return std::nullopt;
    action = vlm::done_action_text;
    thoughts = "My task was to " + world_.scenario().goal_text + ", and it is done.";
  } else {
    const Action a = expert_action(world_);
    action = world_.grammar().format(a);
    thoughts = expert_thoughts(a);
  }
  nlohmann::ordered_json answer;
  answer["thoughts"] = thoughts;
  answer["action"] = action;
  return vlm::ExpertAnswer{action, std::move(answer)};
}

}  // namespace subtb::household
