#pragma once
// The household world as a VLM task (envs/vlm/task.h), so that VlmEnv gives it
// prompts, the action parser, [DONE] and the step limit like the card games.
//
// - Actions: ALFWorld's admissible commands of the current state.
// - Image: the schematic of the agent's location (envs/household/render.h).
// - Prompt: RL4VLM's ALFWorld wording: the text observation, the task, the admissible
//   actions; the answer has "thoughts" and "action". GFlowVLM's history in it shows the
//   last `history_window` steps (envs/vlm/README.md, "Prompt lengths").
// - Rewards: rl4vlm mode gets the world's step reward (50 on success, +1 when a goal
//   condition is newly met); gflownet mode gets R = max(1e-10, 50 * 1[goal] +
//   1[a goal condition met at some point of the episode]).
// - The step limit is VlmEnv's (default_max_steps(): 35 as in GFlowVLM; RL4VLM used 50);
//   the world itself does not truncate.
#include <string>

#include "envs/household/world.h"
#include "envs/vlm/task.h"

namespace subtb::household {

struct HouseholdTaskOptions {
  Split split = Split::seen;
  int max_steps = 35;
  // Steps of the history GFlowVLM's prompt shows (0: all). The room's description and
  // the admissible commands already take most of a compact model's context; the last
  // few steps say what the agent holds and where it is.
  int history_window = 3;
};

class HouseholdTask : public vlm::Task {
 public:
  explicit HouseholdTask(HouseholdTaskOptions options = {});

  // "household" (seen split) or "household-unseen".
  std::string name() const override;
  // The current scenario's ALFWorld task type ("pick_and_place_simple", ...).
  std::string category() const override;
  // The task of generate_scenario(seed, split).
  void reset(std::uint64_t seed) override;
  std::vector<std::string> actions() const override { return commands_; }
  vlm::TaskStep step(std::size_t index) override;
  bool success() const override { return world_.success(); }
  double gflownet_reward() const override;
  int default_max_steps() const override { return options_.max_steps; }
  int default_history_window() const override { return options_.history_window; }
  void render(render::Canvas& image) const override;
  // The last feedback text ("You arrive at loc 3. The cabinet 1 is closed."); at the
  // start, the room ("You are in the middle of a room. Looking quickly around you, ...").
  std::string state_text() const override { return observation_; }
  std::string description() const override;
  std::vector<vlm::AnswerField> answer_fields() const override;
  std::string action_placeholder() const override { return "\"an admissible action\""; }
  // The scripted expert's command, with a chain of thought saying why.
  std::optional<vlm::ExpertAnswer> expert() override;

  const World& world() const { return world_; }

 private:
  void observe(std::string_view observation);
  std::string expert_thoughts(const Action& action) const;

  HouseholdTaskOptions options_;
  World world_;
  std::string observation_;
  std::vector<std::string> commands_;
};

}  // namespace subtb::household
