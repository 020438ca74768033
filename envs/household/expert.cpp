#include "envs/household/expert.h"

#include <optional>

#include "tensor/error.h"

namespace subtb::household {
namespace {

// Steps from here until the inside of receptacle r can be used: go there, open it.
int reach_cost(const World& w, int r) { return (w.location() == r ? 0 : 1) + (w.accessible(r) ? 0 : 1); }

// The receptacle satisfying `want` that is cheapest to reach (ties: the lowest index);
// -1 when there is none.
template <class Want>
int cheapest_receptacle(const World& w, Want want) {
  int best = -1;
  for (int r = 0; r < static_cast<int>(w.scenario().receptacles.size()); ++r)
    if (want(r) && (best < 0 || reach_cost(w, r) < reach_cost(w, best))) best = r;
  return best;
}

// The first step towards receptacle r (go there; open it when its inside is needed),
// or nullopt once the agent can act on it.
std::optional<Action> approach(const World& w, int r, bool inside) {
  if (w.location() != r) return Action{Verb::go_to, recep_ref(r), {}};
  if (inside && !w.accessible(r)) return Action{Verb::open, recep_ref(r), {}};
  return std::nullopt;
}

Action put_into(const World& w, int object, int recep) {
  if (auto step = approach(w, recep, true)) return *step;
  return Action{Verb::put, object_ref(object), recep_ref(recep)};
}

class Planner {
 public:
  explicit Planner(const World& w) : w_(w), s_(w.scenario()), goal_(s_.goal) {}

  Action next() const {
    const int held = w_.held();
    if (held < 0) return fetch();
    if (s_.objects[held].type != goal_.object) return put_away(held);
    switch (goal_.type) {
      case TaskType::look_at_obj_in_light: return light_up();
      case TaskType::pick_clean_then_place:
      case TaskType::pick_heat_then_place:
      case TaskType::pick_cool_then_place:
        if (!transformed(held)) return transform(held);
        break;
      default: break;
    }
    return put_into(w_, held, target());
  }

 private:
  bool is_target(int r) const { return s_.receptacles[r].type == goal_.target; }

  bool transformed(int o) const {
    switch (goal_.type) {
      case TaskType::pick_clean_then_place: return w_.is_clean(o);
      case TaskType::pick_heat_then_place: return w_.is_hot(o);
      case TaskType::pick_cool_then_place: return w_.is_cool(o);
      default: return true;
    }
  }

  int goal_objects_in(int r) const {
    int count = 0;
    for (std::size_t o = 0; o < s_.objects.size(); ++o)
      count += s_.objects[o].type == goal_.object && w_.where(static_cast<int>(o)) == r;
    return count;
  }

  // The receptacle the goal objects go to. Pick two gathers both in one receptacle:
  // the one that already holds the most.
  int target() const {
    if (goal_.type != TaskType::pick_two_and_place) return cheapest_receptacle(w_, [&](int r) { return is_target(r); });
    int best = -1;
    for (int r = 0; r < static_cast<int>(s_.receptacles.size()); ++r) {
      if (!is_target(r)) continue;
      if (best < 0 || goal_objects_in(r) > goal_objects_in(best) ||
          (goal_objects_in(r) == goal_objects_in(best) && reach_cost(w_, r) < reach_cost(w_, best)))
        best = r;
    }
    return best;
  }

  // A goal object that still has to be moved (or transformed and moved).
  bool unfinished(int o) const {
    const int r = w_.where(o);
    switch (goal_.type) {
      case TaskType::look_at_obj_in_light: return true;
      case TaskType::pick_two_and_place: return r != target();
      default: return !(is_target(r) && transformed(o));
    }
  }

  Action fetch() const {
    int best = -1;
    for (int o = 0; o < static_cast<int>(s_.objects.size()); ++o) {
      if (s_.objects[o].type != goal_.object || !unfinished(o)) continue;
      if (best < 0 || reach_cost(w_, w_.where(o)) < reach_cost(w_, w_.where(best))) best = o;
    }
    SUBTB_CHECK(best >= 0, "household expert: no ", name(goal_.object), " left to fetch for \"", s_.goal_text, "\"");
    const int source = w_.where(best);
    if (auto step = approach(w_, source, true)) return *step;
    return Action{Verb::take, object_ref(best), recep_ref(source)};
  }

  Action put_away(int object) const {
    const int r = cheapest_receptacle(w_, [&](int r) { return accepts(s_.receptacles[r].type, s_.objects[object].type); });
    return put_into(w_, object, r);
  }

  Action transform(int object) const {
    const RecepType tool = goal_.type == TaskType::pick_clean_then_place  ? RecepType::sinkbasin
                           : goal_.type == TaskType::pick_heat_then_place ? RecepType::microwave
                                                                          : RecepType::fridge;
    const int r = cheapest_receptacle(w_, [&](int r) { return s_.receptacles[r].type == tool; });
    if (auto step = approach(w_, r, false)) return *step;
    const Verb verb = tool == RecepType::sinkbasin ? Verb::clean : tool == RecepType::microwave ? Verb::heat : Verb::cool;
    return Action{verb, object_ref(object), recep_ref(r)};
  }

  Action light_up() const {
    // The lamp of the goal type cheapest to have on here: one here beats one elsewhere.
    int best = -1, best_cost = 0;
    for (int l = 0; l < static_cast<int>(s_.lamps.size()); ++l) {
      if (s_.lamps[l].type != goal_.lamp) continue;
      const int cost = (s_.lamps[l].host == w_.location() ? 0 : 1) + (w_.lamp_on(l) ? 0 : 1);
      if (best < 0 || cost < best_cost) best = l, best_cost = cost;
    }
    SUBTB_CHECK(best >= 0, "household expert: no ", name(goal_.lamp), " for \"", s_.goal_text, "\"");
    if (auto step = approach(w_, s_.lamps[best].host, false)) return *step;
    return Action{Verb::use, lamp_ref(best), {}};
  }

  const World& w_;
  const Scenario& s_;
  const Goal& goal_;
};

}  // namespace

Action expert_action(const World& world) {
  SUBTB_CHECK(!world.done(), "household expert: the episode has ended");
  return Planner(world).next();
}

}  // namespace subtb::household
