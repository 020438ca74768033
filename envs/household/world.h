#pragma once
// The household world: ALFWorld's text game, re-created procedurally. reset() starts
// an episode on a scenario; step() executes one command and answers with ALFWorld's
// feedback text ("You arrive at loc 3. The cabinet 1 is closed.", "Nothing happens.").
//
// Rewards follow GFlowVLM: r = 50 * 1[goal reached] + 1[a goal condition newly met],
// where "newly" means the count of met conditions rose above its best so far this
// episode. An episode ends at success or after max_steps steps; failed commands count.
//
// step() does not allocate once the episode's text buffer has grown (the first few
// steps), so a world steps at well over 10^5 commands a second on one core.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "envs/household/command.h"
#include "envs/household/scenario.h"

namespace subtb::household {

struct WorldOptions {
  int max_steps = 35;  // GFlowVLM's limit; RL4VLM used 50
};

struct StepResult {
  std::string_view observation;  // valid until the next step() or reset()
  double reward = 0.0;
  bool valid = false;  // false exactly when the answer is "Nothing happens."
  bool done = false;
  bool success = false;
  int conditions_met = 0;
};

class World {
 public:
  explicit World(WorldOptions options = {});

  // Starts an episode; returns the opening text ("-= Welcome to TextWorld, ALFRED! =-",
  // the room, "Your task is to: ..."), valid until the next step() or reset().
  std::string_view reset(Scenario scenario);
  // Starts the current scenario over (another trajectory of the same task) without
  // copying it.
  std::string_view restart();

  // Throws subtb::Error when the episode has ended.
  StepResult step(std::string_view command);
  StepResult step(const Action& action);

  // ALFWorld's admissible commands, sorted: every command that can succeed here, and
  // some that cannot (a put into a receptacle that does not take the object, a heat of
  // an object that cannot be heated), as in ALFWorld. Reuses `out`'s strings.
  void admissible_commands(std::vector<std::string>& out) const;
  std::vector<std::string> admissible_commands() const;

  Grammar grammar() const { return Grammar(scenario_); }
  const Scenario& scenario() const { return scenario_; }
  const WorldOptions& options() const { return options_; }

  // State, for the expert, the renderer and tests.
  static constexpr int kMiddleOfRoom = -1;
  static constexpr int kHeld = -2;
  int location() const { return location_; }  // receptacle index or kMiddleOfRoom
  int held() const { return held_; }          // object index or -1
  bool is_open(int recep) const { return open_[recep] != 0; }
  // Open, or not openable: its contents can be seen, taken and added to.
  bool accessible(int recep) const;
  int where(int object) const { return where_[object]; }  // receptacle index or kHeld
  bool is_hot(int object) const { return (state_[object] & kHot) != 0; }
  bool is_cool(int object) const { return (state_[object] & kCool) != 0; }
  bool is_clean(int object) const { return (state_[object] & kClean) != 0; }
  bool lamp_on(int lamp) const { return lamp_on_[lamp] != 0; }

  int steps() const { return steps_; }
  bool done() const { return done_; }
  bool success() const { return success_; }
  int conditions_met() const;
  int conditions_total() const { return scenario_.goal.conditions(); }
  // The most goal conditions met at once so far this episode.
  int best_conditions_met() const { return best_met_; }

 private:
  static constexpr std::uint8_t kHot = 1, kCool = 2, kClean = 4;

  bool execute(const Action& a);  // writes text_; false for "Nothing happens."
  StepResult finish_step(bool valid);
  bool has_property(int object, TaskType type) const;

  void describe_receptacle(int recep);  // ALFWorld's examineReceptacle feedback
  void describe_object(int object);     // ALFWorld's examineObject feedback
  void list_contents(int recep);        // "a apple 1, and a knife 2" or "nothing"
  void look();

  WorldOptions options_;
  Scenario scenario_;
  std::string room_overview_;  // "a cabinet 2, a cabinet 1, ..., and a toaster 1"

  int location_ = kMiddleOfRoom;
  int held_ = -1;
  std::vector<std::uint8_t> open_;     // per receptacle
  std::vector<std::int16_t> where_;    // per object
  std::vector<std::uint8_t> state_;    // per object: kHot | kCool | kClean
  std::vector<std::uint8_t> lamp_on_;  // per lamp
  int steps_ = 0;
  int best_met_ = 0;
  bool done_ = true;
  bool success_ = false;
  std::string text_;
};

}  // namespace subtb::household
