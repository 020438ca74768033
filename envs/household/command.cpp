#include "envs/household/command.h"

#include <array>

namespace subtb::household {
namespace {

constexpr std::array<std::string_view, 12> kVerbWords = {
    "look", "inventory", "go to", "open", "close", "use", "examine", "take", "put", "heat", "cool", "clean",
};

// The word between the two names of a two-argument command.
std::string_view joiner(Verb verb) {
  switch (verb) {
    case Verb::take: return " from ";
    case Verb::put: return " in/on ";
    default: return " with ";
  }
}

bool has_two_names(Verb verb) { return verb >= Verb::take; }

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

template <class Things>
int find_name(const Things& things, std::string_view name) {
  for (std::size_t i = 0; i < things.size(); ++i)
    if (things[i].name == name) return static_cast<int>(i);
  return -1;
}

}  // namespace

Ref Grammar::resolve(std::string_view name) const {
  if (int i = find_name(scenario_->receptacles, name); i >= 0) return recep_ref(i);
  if (int i = find_name(scenario_->objects, name); i >= 0) return object_ref(i);
  if (int i = find_name(scenario_->lamps, name); i >= 0) return lamp_ref(i);
  return {};
}

std::optional<Action> Grammar::parse(std::string_view text) const {
  text = trim(text);
  for (std::size_t v = 0; v < kVerbWords.size(); ++v) {
    const auto verb = static_cast<Verb>(v);
    const std::string_view word = kVerbWords[v];
    if (verb == Verb::look || verb == Verb::inventory) {
      if (text == word) return Action{verb, {}, {}};
      continue;
    }
    if (text.size() <= word.size() + 1 || !text.starts_with(word) || text[word.size()] != ' ') continue;
    const std::string_view rest = text.substr(word.size() + 1);
    if (!has_two_names(verb)) {
      const Ref first = resolve(rest);
      if (first.kind == Ref::Kind::none) return std::nullopt;
      return Action{verb, first, {}};
    }
    const std::size_t at = rest.find(joiner(verb));
    if (at == std::string_view::npos) return std::nullopt;
    const Ref first = resolve(rest.substr(0, at));
    const Ref second = resolve(rest.substr(at + joiner(verb).size()));
    if (first.kind == Ref::Kind::none || second.kind == Ref::Kind::none) return std::nullopt;
    return Action{verb, first, second};
  }
  return std::nullopt;
}

std::string_view Grammar::name_of(Ref ref) const {
  switch (ref.kind) {
    case Ref::Kind::receptacle: return scenario_->receptacles[ref.index].name;
    case Ref::Kind::object: return scenario_->objects[ref.index].name;
    case Ref::Kind::lamp: return scenario_->lamps[ref.index].name;
    case Ref::Kind::none: break;
  }
  return {};
}

void Grammar::format(const Action& action, std::string& out) const {
  out += kVerbWords[static_cast<int>(action.verb)];
  if (action.verb == Verb::look || action.verb == Verb::inventory) return;
  out += ' ';
  out += name_of(action.first);
  if (has_two_names(action.verb)) {
    out += joiner(action.verb);
    out += name_of(action.second);
  }
}

std::string Grammar::format(const Action& action) const {
  std::string out;
  format(action, out);
  return out;
}

}  // namespace subtb::household
