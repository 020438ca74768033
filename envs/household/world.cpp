#include "envs/household/world.h"

#include <algorithm>
#include <charconv>
#include <numeric>

#include "tensor/error.h"

namespace subtb::household {
namespace {

constexpr std::string_view kNothingHappens = "Nothing happens.";
constexpr double kGoalReward = 50.0;
constexpr double kSubgoalReward = 1.0;

void append_int(std::string& out, int value) {
  char digits[12];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// The receptacle type that performs a transformation.
RecepType tool_of(Verb verb) {
  switch (verb) {
    case Verb::heat: return RecepType::microwave;
    case Verb::cool: return RecepType::fridge;
    default: return RecepType::sinkbasin;
  }
}

// Writes ALFWorld's list style: "nothing", "a x", "a x, and a y", "a x, a y, and a z".
class ListWriter {
 public:
  explicit ListWriter(std::string& out) : out_(out) {}
  void add(std::string_view item) {
    if (count_ > 0) {
      out_ += count_ == 1 ? "a " : ", a ";
      out_ += pending_;
    }
    pending_ = item;
    ++count_;
  }
  void finish() {
    if (count_ == 0) {
      out_ += "nothing";
      return;
    }
    out_ += count_ == 1 ? "a " : ", and a ";
    out_ += pending_;
  }

 private:
  std::string& out_;
  std::string_view pending_;
  int count_ = 0;
};

}  // namespace

World::World(WorldOptions options) : options_(options) {
  SUBTB_CHECK(options.max_steps > 0, "household World: max_steps must be positive, got ", options.max_steps);
}

std::string_view World::reset(Scenario scenario) {
  scenario_ = std::move(scenario);
  // ALFWorld lists the room by type name, and within a type from the highest number down.
  const auto& receps = scenario_.receptacles;
  std::vector<int> order(receps.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return receps[a].type != receps[b].type ? receps[a].type < receps[b].type : receps[a].number > receps[b].number;
  });
  room_overview_.clear();
  ListWriter list(room_overview_);
  for (int r : order) list.add(receps[r].name);
  list.finish();
  return restart();
}

std::string_view World::restart() {
  open_.assign(scenario_.receptacles.size(), 0);
  where_.resize(scenario_.objects.size());
  for (std::size_t o = 0; o < scenario_.objects.size(); ++o) where_[o] = static_cast<std::int16_t>(scenario_.objects[o].start);
  state_.assign(scenario_.objects.size(), 0);
  lamp_on_.assign(scenario_.lamps.size(), 0);
  location_ = kMiddleOfRoom;
  held_ = -1;
  steps_ = 0;
  best_met_ = conditions_met();
  done_ = false;
  success_ = false;

  text_.clear();
  text_ += "-= Welcome to TextWorld, ALFRED! =-\n\n";
  look();
  text_ += "\n\nYour task is to: ";
  text_ += scenario_.goal_text;
  text_ += '.';
  return text_;
}

bool World::accessible(int recep) const { return !openable(scenario_.receptacles[recep].type) || open_[recep]; }

StepResult World::step(std::string_view command) {
  SUBTB_CHECK(!done_, "household step: the episode has ended (", success_ ? "success" : "step limit", " after ", steps_,
              " steps); call reset()");
  const std::optional<Action> action = grammar().parse(command);
  text_.clear();
  return finish_step(action && execute(*action));
}

StepResult World::step(const Action& action) {
  SUBTB_CHECK(!done_, "household step: the episode has ended (", success_ ? "success" : "step limit", " after ", steps_,
              " steps); call reset()");
  text_.clear();
  return finish_step(execute(action));
}

StepResult World::finish_step(bool valid) {
  if (!valid) text_.assign(kNothingHappens);
  ++steps_;
  const int met = conditions_met();
  StepResult result;
  result.observation = text_;
  result.valid = valid;
  result.conditions_met = met;
  result.success = success_ = met == conditions_total();
  result.reward = (success_ ? kGoalReward : 0.0) + (met > best_met_ ? kSubgoalReward : 0.0);
  best_met_ = std::max(best_met_, met);
  result.done = done_ = success_ || steps_ >= options_.max_steps;
  return result;
}

bool World::has_property(int object, TaskType type) const {
  switch (type) {
    case TaskType::pick_clean_then_place: return is_clean(object);
    case TaskType::pick_heat_then_place: return is_hot(object);
    case TaskType::pick_cool_then_place: return is_cool(object);
    default: return true;
  }
}

int World::conditions_met() const {
  const Goal& goal = scenario_.goal;
  const auto& objects = scenario_.objects;
  const auto& receps = scenario_.receptacles;
  auto in_target = [&](int o) { return where_[o] >= 0 && receps[where_[o]].type == goal.target; };

  switch (goal.type) {
    case TaskType::pick_and_place:
      for (std::size_t o = 0; o < objects.size(); ++o)
        if (objects[o].type == goal.object && in_target(static_cast<int>(o))) return 1;
      return 0;
    case TaskType::pick_two_and_place: {
      // Two objects in one and the same receptacle of the target type.
      int best = 0;
      for (std::size_t r = 0; r < receps.size(); ++r) {
        if (receps[r].type != goal.target) continue;
        int count = 0;
        for (std::size_t o = 0; o < objects.size(); ++o)
          count += objects[o].type == goal.object && where_[o] == static_cast<int>(r);
        best = std::max(best, std::min(count, 2));
      }
      return best;
    }
    case TaskType::look_at_obj_in_light: {
      const bool holding = held_ >= 0 && objects[held_].type == goal.object;
      bool lit = false;
      for (std::size_t l = 0; l < scenario_.lamps.size(); ++l) {
        const Lamp& lamp = scenario_.lamps[l];
        lit |= lamp.type == goal.lamp && lamp_on_[l] && lamp.host == location_;
      }
      return int{holding} + int{lit};
    }
    default: {
      // Clean, heat, cool: the object transformed; the object placed; the transformed
      // object placed.
      bool transformed = false, placed = false, both = false;
      for (std::size_t o = 0; o < objects.size(); ++o) {
        if (objects[o].type != goal.object) continue;
        const bool t = has_property(static_cast<int>(o), goal.type), p = in_target(static_cast<int>(o));
        transformed |= t;
        placed |= p;
        both |= t && p;
      }
      return int{transformed} + int{placed} + int{both};
    }
  }
}

bool World::execute(const Action& a) {
  using Kind = Ref::Kind;
  const auto& receps = scenario_.receptacles;
  const auto& objects = scenario_.objects;
  const auto& lamps = scenario_.lamps;
  const int first = a.first.index, second = a.second.index;
  const bool first_is_here = a.first.kind == Kind::receptacle && first == location_;

  switch (a.verb) {
    case Verb::look:
      look();
      return true;
    case Verb::inventory:
      if (held_ < 0) {
        text_ += "You are not carrying anything.";
      } else {
        text_ += "You are carrying: a ";
        text_ += objects[held_].name;
        text_ += '.';
      }
      return true;
    case Verb::go_to:
      if (a.first.kind != Kind::receptacle || first == location_) return false;
      location_ = first;
      text_ += "You arrive at loc ";
      append_int(text_, receps[first].loc);
      text_ += ". ";
      describe_receptacle(first);
      return true;
    case Verb::open:
      if (!first_is_here || !openable(receps[first].type) || open_[first]) return false;
      open_[first] = 1;
      text_ += "You open the ";
      text_ += receps[first].name;
      text_ += ". ";
      describe_receptacle(first);
      return true;
    case Verb::close:
      if (!first_is_here || !openable(receps[first].type) || !open_[first]) return false;
      open_[first] = 0;
      text_ += "You close the ";
      text_ += receps[first].name;
      text_ += '.';
      return true;
    case Verb::use:
      if (a.first.kind != Kind::lamp || lamps[first].host != location_) return false;
      lamp_on_[first] ^= 1;
      text_ += lamp_on_[first] ? "You turn on the " : "You turn off the ";
      text_ += lamps[first].name;
      text_ += '.';
      return true;
    case Verb::examine:
      if (first_is_here) {
        describe_receptacle(first);
        return true;
      }
      if (a.first.kind == Kind::object &&
          (first == held_ || (where_[first] == location_ && location_ >= 0 && accessible(location_)))) {
        describe_object(first);
        return true;
      }
      if (a.first.kind == Kind::lamp && lamps[first].host == location_) {
        text_ += "This ";
        text_ += lamps[first].name;
        text_ += lamp_on_[first] ? " is on." : " is off.";
        return true;
      }
      return false;
    case Verb::take:
      if (a.first.kind != Kind::object || a.second.kind != Kind::receptacle || held_ >= 0 || second != location_ ||
          where_[first] != second || !accessible(second))
        return false;
      held_ = first;
      where_[first] = kHeld;
      text_ += "You pick up the ";
      text_ += objects[first].name;
      text_ += " from the ";
      text_ += receps[second].name;
      text_ += '.';
      return true;
    case Verb::put:
      if (a.first.kind != Kind::object || a.second.kind != Kind::receptacle || first != held_ || second != location_ ||
          !accessible(second) || !accepts(receps[second].type, objects[first].type))
        return false;
      held_ = -1;
      where_[first] = static_cast<std::int16_t>(second);
      text_ += "You put the ";
      text_ += objects[first].name;
      text_ += " in/on the ";
      text_ += receps[second].name;
      text_ += '.';
      return true;
    case Verb::heat:
    case Verb::cool:
    case Verb::clean: {
      if (a.first.kind != Kind::object || a.second.kind != Kind::receptacle || first != held_ || second != location_ ||
          receps[second].type != tool_of(a.verb))
        return false;
      const ObjectTraits& t = traits(objects[first].type);
      std::string_view done;
      if (a.verb == Verb::heat && t.heatable) {
        state_[first] = static_cast<std::uint8_t>((state_[first] & ~kCool) | kHot);
        done = "You heat the ";
      } else if (a.verb == Verb::cool && t.coolable) {
        state_[first] = static_cast<std::uint8_t>((state_[first] & ~kHot) | kCool);
        done = "You cool the ";
      } else if (a.verb == Verb::clean && t.cleanable) {
        state_[first] |= kClean;
        done = "You clean the ";
      } else {
        return false;
      }
      text_ += done;
      text_ += objects[first].name;
      text_ += " using the ";
      text_ += receps[second].name;
      text_ += '.';
      return true;
    }
  }
  return false;
}

void World::list_contents(int recep) {
  ListWriter list(text_);
  for (const Lamp& lamp : scenario_.lamps)
    if (lamp.type == LampType::desklamp && lamp.host == recep) list.add(lamp.name);
  for (std::size_t o = 0; o < where_.size(); ++o)
    if (where_[o] == recep) list.add(scenario_.objects[o].name);
  list.finish();
}

void World::describe_receptacle(int recep) {
  const Receptacle& r = scenario_.receptacles[recep];
  if (openable(r.type)) {
    text_ += "The ";
    text_ += r.name;
    if (!open_[recep]) {
      text_ += " is closed.";
      return;
    }
    text_ += " is open. In it, you see ";
  } else {
    text_ += "On the ";
    text_ += r.name;
    text_ += ", you see ";
  }
  list_contents(recep);
  text_ += '.';
}

void World::describe_object(int object) {
  const bool hot = is_hot(object), cool = is_cool(object), clean = is_clean(object);
  if (!hot && !cool && !clean) {
    text_ += "There's nothing special about ";
    text_ += scenario_.objects[object].name;
    text_ += '.';
    return;
  }
  text_ += "This is a ";
  if (hot) text_ += clean ? "hot and clean " : "hot ";
  else if (cool) text_ += clean ? "cool and clean " : "cold ";
  else text_ += "clean ";
  text_ += scenario_.objects[object].name;
  text_ += '.';
}

void World::look() {
  if (location_ == kMiddleOfRoom) {
    text_ += "You are in the middle of a room. Looking quickly around you, you see ";
    text_ += room_overview_;
    text_ += '.';
    return;
  }
  text_ += "You are facing the ";
  text_ += scenario_.receptacles[location_].name;
  text_ += ". Next to it, you see ";
  ListWriter list(text_);
  for (const Lamp& lamp : scenario_.lamps)
    if (lamp.type == LampType::floorlamp && lamp.host == location_) list.add(lamp.name);
  list.finish();
  text_ += '.';
}

void World::admissible_commands(std::vector<std::string>& out) const {
  const Grammar g = grammar();
  std::size_t n = 0;
  auto emit = [&](Verb verb, Ref first = {}, Ref second = {}) {
    if (n == out.size()) out.emplace_back();
    std::string& s = out[n++];
    s.clear();
    g.format(Action{verb, first, second}, s);
  };

  emit(Verb::look);
  emit(Verb::inventory);
  const auto& receps = scenario_.receptacles;
  for (std::size_t r = 0; r < receps.size(); ++r)
    if (static_cast<int>(r) != location_) emit(Verb::go_to, recep_ref(static_cast<int>(r)));
  if (held_ >= 0) emit(Verb::examine, object_ref(held_));

  if (location_ != kMiddleOfRoom) {
    const Ref here = recep_ref(location_);
    const RecepType type = receps[location_].type;
    emit(Verb::examine, here);
    if (openable(type)) emit(open_[location_] ? Verb::close : Verb::open, here);
    for (std::size_t l = 0; l < scenario_.lamps.size(); ++l) {
      if (scenario_.lamps[l].host != location_) continue;
      emit(Verb::use, lamp_ref(static_cast<int>(l)));
      emit(Verb::examine, lamp_ref(static_cast<int>(l)));
    }
    if (accessible(location_)) {
      for (std::size_t o = 0; o < where_.size(); ++o) {
        if (where_[o] != location_) continue;
        emit(Verb::examine, object_ref(static_cast<int>(o)));
        if (held_ < 0) emit(Verb::take, object_ref(static_cast<int>(o)), here);
      }
      if (held_ >= 0) emit(Verb::put, object_ref(held_), here);
    }
    if (held_ >= 0) {
      for (Verb verb : {Verb::heat, Verb::cool, Verb::clean})
        if (type == tool_of(verb)) emit(verb, object_ref(held_), here);
    }
  }
  out.resize(n);
  std::sort(out.begin(), out.end());
}

std::vector<std::string> World::admissible_commands() const {
  std::vector<std::string> out;
  admissible_commands(out);
  return out;
}

}  // namespace subtb::household
