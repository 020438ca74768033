#include "envs/household/scenario.h"

#include <array>

#include "envs/household/layout.h"
#include "envs/household/rng.h"
#include "tensor/error.h"

namespace subtb::household {
namespace {

constexpr std::array<std::string_view, kTaskTypeCount> kTaskNames = {
    "pick_and_place_simple", "look_at_obj_in_light",  "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep", "pick_two_obj_and_place",
};

// ALFWorld's two phrasings of each task type; {o} the object, {p} the place.
constexpr std::array<std::array<std::string_view, 2>, kTaskTypeCount> kPhrasings = {{
    {"put a {o} in {p}", "put some {o} on {p}"},
    {"look at {o} under the {p}", "examine the {o} with the {p}"},
    {"put a clean {o} in {p}", "clean some {o} and put it in {p}"},
    {"put a hot {o} in {p}", "heat some {o} and put it in {p}"},
    {"put a cool {o} in {p}", "cool some {o} and put it in {p}"},
    {"put two {o} in {p}", "find two {o} and put them in {p}"},
}};

bool is_look(TaskType type) { return type == TaskType::look_at_obj_in_light; }

// The receptacle type a transformation happens at; the task never targets it, so that
// the transformation and the placement stay two separate steps.
bool is_tool_of(TaskType type, RecepType recep) {
  switch (type) {
    case TaskType::pick_clean_then_place: return recep == RecepType::sinkbasin;
    case TaskType::pick_heat_then_place: return recep == RecepType::microwave;
    case TaskType::pick_cool_then_place: return recep == RecepType::fridge;
    default: return false;
  }
}

bool suits(TaskType type, ObjectType object) {
  const ObjectTraits& t = traits(object);
  switch (type) {
    case TaskType::look_at_obj_in_light: return t.lookable;
    case TaskType::pick_clean_then_place: return t.cleanable;
    case TaskType::pick_heat_then_place: return t.heatable;
    case TaskType::pick_cool_then_place: return t.coolable;
    default: return true;
  }
}

RecepMask present_types(const Layout& layout) {
  RecepMask mask = 0;
  for (const auto& r : layout.receptacles) mask |= bit(r.type);
  return mask;
}

// Every goal of this type the layout can host whose combination belongs to the split.
std::vector<Goal> candidate_goals(const Layout& layout, TaskType type, Split split) {
  const RecepMask present = present_types(layout);
  std::vector<Goal> goals;
  auto offer = [&](const Goal& g) {
    if (held_out_combination(g) == (split == Split::unseen)) goals.push_back(g);
  };
  for (int o = 0; o < kObjectTypeCount; ++o) {
    const auto object = static_cast<ObjectType>(o);
    const RecepMask spawn = traits(object).accepts & present;
    if (!occurs_in(object, layout.room) || !suits(type, object) || spawn == 0) continue;
    if (is_look(type)) {
      for (int l = 0; l < kLampTypeCount; ++l)
        if (layout.has(static_cast<LampType>(l))) offer({type, object, RecepType::countertop, static_cast<LampType>(l)});
      continue;
    }
    for (int r = 0; r < kRecepTypeCount; ++r) {
      const auto target = static_cast<RecepType>(r);
      // The objects must be able to start somewhere other than the target.
      if (!(spawn & bit(target)) || is_tool_of(type, target) || (spawn & ~bit(target)) == 0) continue;
      offer({type, object, target, LampType::desklamp});
    }
  }
  return goals;
}

std::string phrase(const Goal& goal, int variant) {
  const std::string_view object = name(goal.object);
  const std::string_view place = is_look(goal.type) ? name(goal.lamp) : name(goal.target);
  std::string text;
  const std::string_view pattern = kPhrasings[static_cast<int>(goal.type)][variant];
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern.compare(i, 3, "{o}") == 0) {
      text += object;
      i += 2;
    } else if (pattern.compare(i, 3, "{p}") == 0) {
      text += place;
      i += 2;
    } else {
      text += pattern[i];
    }
  }
  return text;
}

template <class T>
std::string numbered(T type, int number) {
  std::string s(name(type));
  s += ' ';
  s += std::to_string(number);
  return s;
}

// Distractor object types appear with this probability (percent), one or two of each.
constexpr int kDistractorPercent = 50;

void place_objects(Scenario& s, const Layout& layout, Rng& rng) {
  for (int o = 0; o < kObjectTypeCount; ++o) {
    const auto type = static_cast<ObjectType>(o);
    if (!occurs_in(type, s.room)) continue;
    const bool is_goal_object = type == s.goal.object;
    // Goal objects never start in a goal receptacle: no task is solved at the start.
    std::vector<int> places;
    for (int r = 0; r < static_cast<int>(layout.receptacles.size()); ++r) {
      const RecepType rt = layout.receptacles[r].type;
      const bool excluded = is_goal_object && !is_look(s.goal.type) && rt == s.goal.target;
      if (accepts(rt, type) && !excluded) places.push_back(r);
    }
    if (places.empty()) continue;
    int count = 0;
    if (is_goal_object)
      count = s.goal.type == TaskType::pick_two_and_place ? rng.between(2, 3) : rng.between(1, 3);
    else if (rng.chance(kDistractorPercent))
      count = rng.between(1, 2);
    for (int n = 1; n <= count; ++n)
      s.objects.push_back({type, n, places[rng.below(static_cast<std::uint32_t>(places.size()))], numbered(type, n)});
  }
}

}  // namespace

std::string_view name(TaskType type) { return kTaskNames[static_cast<int>(type)]; }
std::string_view name(Split split) { return split == Split::seen ? "seen" : "unseen"; }

bool allowed_room(TaskType type, Room room) {
  switch (type) {
    case TaskType::look_at_obj_in_light: return room == Room::living_room || room == Room::bedroom;
    case TaskType::pick_clean_then_place: return room == Room::kitchen || room == Room::bathroom;
    case TaskType::pick_heat_then_place:
    case TaskType::pick_cool_then_place: return room == Room::kitchen;
    default: return true;
  }
}

int Goal::conditions() const {
  switch (type) {
    case TaskType::pick_and_place: return 1;
    case TaskType::look_at_obj_in_light:
    case TaskType::pick_two_and_place: return 2;
    default: return 3;
  }
}

bool held_out_combination(const Goal& goal) {
  const std::uint64_t place = is_look(goal.type) ? 32 + static_cast<int>(goal.lamp) : static_cast<int>(goal.target);
  const std::uint64_t key = static_cast<std::uint64_t>(goal.object) * 64 + place;
  return mix64(key ^ 0x5eed0fc0ffee0000ull) % 4 == 0;
}

Scenario generate_scenario(std::uint64_t seed, Split split) {
  Rng rng(mix64(seed ^ 0x7a5c7a5c7a5c7a5cull));
  return generate_scenario(seed, split, static_cast<TaskType>(rng.below(kTaskTypeCount)));
}

Scenario generate_scenario(std::uint64_t seed, Split split, TaskType type) {
  Rng rng(mix64(mix64(seed) + 8 * static_cast<std::uint64_t>(split) + static_cast<std::uint64_t>(type)));
  std::vector<Room> rooms;
  for (int r = 0; r < kRoomCount; ++r)
    if (allowed_room(type, static_cast<Room>(r))) rooms.push_back(static_cast<Room>(r));

  // Draw a room and a layout of the split until the layout can host a goal of the split.
  constexpr int kMaxDraws = 256;
  for (int draw = 0; draw < kMaxDraws; ++draw) {
    const Room room = rooms[rng.below(static_cast<std::uint32_t>(rooms.size()))];
    const int seen_layouts = kLayoutsPerRoom - kHeldOutLayoutsPerRoom;
    const int index = split == Split::seen ? rng.between(0, seen_layouts - 1) : rng.between(seen_layouts, kLayoutsPerRoom - 1);
    const Layout& lay = layout(room, index);
    const std::vector<Goal> goals = candidate_goals(lay, type, split);
    if (goals.empty()) continue;

    Scenario s;
    s.seed = seed;
    s.split = split;
    s.room = room;
    s.layout_index = index;
    s.goal = goals[rng.below(static_cast<std::uint32_t>(goals.size()))];
    s.goal_text = phrase(s.goal, static_cast<int>(rng.below(2)));
    for (const auto& r : lay.receptacles) s.receptacles.push_back({r.type, r.number, r.loc, numbered(r.type, r.number)});
    for (const auto& l : lay.lamps) s.lamps.push_back({l.type, l.number, l.host, numbered(l.type, l.number)});
    place_objects(s, lay, rng);
    return s;
  }
  SUBTB_THROW("household generate_scenario: no ", name(split), " layout hosts a ", name(type), " task (seed ", seed, ")");
}

}  // namespace subtb::household
