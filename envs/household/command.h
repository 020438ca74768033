#pragma once
// The command grammar, ALFWorld's:
//   look | inventory | go to {recep} | open {recep} | close {recep} | use {lamp}
//   examine {recep|obj|lamp} | take {obj} from {recep} | put {obj} in/on {recep}
//   heat {obj} with {recep} | cool {obj} with {recep} | clean {obj} with {recep}
// An Action is a parsed command whose names are resolved to the scenario's things.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "envs/household/scenario.h"

namespace subtb::household {

enum class Verb : std::uint8_t { look, inventory, go_to, open, close, use, examine, take, put, heat, cool, clean };

// A named thing of the scenario: an index into its receptacles, objects or lamps.
struct Ref {
  enum class Kind : std::uint8_t { none, receptacle, object, lamp };
  Kind kind = Kind::none;
  std::int16_t index = -1;
  friend bool operator==(const Ref&, const Ref&) = default;
};
inline Ref recep_ref(int i) { return {Ref::Kind::receptacle, static_cast<std::int16_t>(i)}; }
inline Ref object_ref(int i) { return {Ref::Kind::object, static_cast<std::int16_t>(i)}; }
inline Ref lamp_ref(int i) { return {Ref::Kind::lamp, static_cast<std::int16_t>(i)}; }

struct Action {
  Verb verb = Verb::look;
  Ref first;   // the object or receptacle acted on
  Ref second;  // the receptacle of take / put / heat / cool / clean
  friend bool operator==(const Action&, const Action&) = default;
};

// Resolves names against one scenario. Parsing is allocation-free: it compares views
// against the names the scenario already holds.
class Grammar {
 public:
  explicit Grammar(const Scenario& scenario) : scenario_(&scenario) {}

  // nullopt when the text is not a command of the grammar or names an unknown thing.
  // Surrounding white space is ignored; everything else must match exactly.
  std::optional<Action> parse(std::string_view text) const;
  // Appends the command text of `action` to `out`.
  void format(const Action& action, std::string& out) const;
  std::string format(const Action& action) const;

  std::string_view name_of(Ref ref) const;

 private:
  Ref resolve(std::string_view name) const;
  const Scenario* scenario_;
};

}  // namespace subtb::household
