#pragma once
// A scenario is one generated household task: a room layout, the objects in it and
// where they start, and the goal. generate_scenario(seed, split) is a pure function.
//
// Splits. A combination is the pair (goal object type, goal place type), the place
// being the target receptacle type, or the lamp type for "look" tasks; a fixed hash
// holds out about a quarter of all combinations. A seen task has a seen layout and a
// seen combination; an unseen task has a held-out layout and a held-out combination.
// Both tests are pure functions of the task's content, so no task can be in both splits.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "envs/household/catalog.h"

namespace subtb::household {

// ALFWorld's six task types.
enum class TaskType : std::uint8_t {
  pick_and_place,        // "put a {obj} in {recep}"
  look_at_obj_in_light,  // "look at {obj} under the {lamp}"
  pick_clean_then_place, // "put a clean {obj} in {recep}"
  pick_heat_then_place,  // "put a hot {obj} in {recep}"
  pick_cool_then_place,  // "put a cool {obj} in {recep}"
  pick_two_and_place,    // "put two {obj} in {recep}"
};
inline constexpr int kTaskTypeCount = 6;
std::string_view name(TaskType type);  // ALFWorld's names: "pick_and_place_simple", ...

enum class Split : std::uint8_t { seen, unseen };
std::string_view name(Split split);

// The rooms a task type is set in: heat and cool in kitchens; clean in kitchens and
// bathrooms; look in living rooms and bedrooms; pick and pick-two anywhere.
bool allowed_room(TaskType type, Room room);

struct Goal {
  TaskType type = TaskType::pick_and_place;
  ObjectType object = ObjectType::apple;
  RecepType target = RecepType::countertop;  // unused by look tasks
  LampType lamp = LampType::desklamp;        // look tasks only

  // Goal conditions, as ALFRED counts them: pick 1; look 2; pick two 2; clean, heat, cool 3.
  int conditions() const;
};

bool held_out_combination(const Goal& goal);

struct Receptacle {
  RecepType type;
  int number;
  int loc;
  std::string name;  // "cabinet 4"
};

struct Lamp {
  LampType type;
  int number;
  int host;  // receptacle index
  std::string name;
};

struct Object {
  ObjectType type;
  int number;
  int start;  // receptacle index it starts in
  std::string name;
};

struct Scenario {
  std::uint64_t seed = 0;
  Split split = Split::seen;
  Room room = Room::kitchen;
  int layout_index = 0;
  Goal goal;
  std::string goal_text;  // "put a clean lettuce in diningtable" (no final period)
  std::vector<Receptacle> receptacles;  // ordered by type, then number
  std::vector<Lamp> lamps;
  std::vector<Object> objects;  // ordered by type, then number
};

Scenario generate_scenario(std::uint64_t seed, Split split);
Scenario generate_scenario(std::uint64_t seed, Split split, TaskType type);

}  // namespace subtb::household
