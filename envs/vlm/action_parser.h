#pragma once
// The action parser: which admissible action a model's generated text names. RL4VLM's
// rule: lower-case the text, keep what follows its first "action" key, and accept it
// when exactly one admissible action appears there.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace subtb::vlm {

enum class ParseStatus {
  ok,         // exactly one action named
  no_action,  // no "action" key, or none of the actions after it
  ambiguous,  // more than one different action after the key
};

struct ParsedAction {
  ParseStatus status = ParseStatus::no_action;
  std::size_t index = 0;  // into `actions`, when status == ok
  bool ok() const { return status == ParseStatus::ok; }
};

// Matching is case-insensitive (ASCII). The text searched starts after the first
// `"action"` key followed by `:` (spaces allowed between). Text without that key is
// invalid: RL4VLM then looks at the last character only, which in effect rejects it too,
// and a format failure is worth counting. An occurrence inside an occurrence of a longer action does not
// count, so "10" is not also read as "1", nor "go to cabinet 10" as "go to cabinet 1".
// Any byte string is accepted.
ParsedAction parse_action(std::string_view generated, std::span<const std::string> actions);

std::string_view to_string(ParseStatus status);

}  // namespace subtb::vlm
