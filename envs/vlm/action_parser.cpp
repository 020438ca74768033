#include "envs/vlm/action_parser.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <vector>

namespace subtb::vlm {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The text after the first `"action"` key that a colon follows; empty without one.
std::optional<std::string_view> after_action_key(std::string_view text) {
  constexpr std::string_view key = "\"action\"";
  for (std::size_t pos = text.find(key); pos != std::string_view::npos; pos = text.find(key, pos + 1)) {
    std::size_t i = pos + key.size();
    while (i < text.size() && is_space(text[i])) ++i;
    if (i < text.size() && text[i] == ':') return text.substr(i + 1);
  }
  return std::nullopt;
}

}  // namespace

ParsedAction parse_action(std::string_view generated, std::span<const std::string> actions) {
  const std::string text_lower = lower(generated);
  const std::optional<std::string_view> value = after_action_key(text_lower);
  if (!value) return {ParseStatus::no_action, 0};
  const std::string_view text = *value;

  // Longest actions first; an occurrence entirely on characters claimed by a strictly
  // longer action is part of that action, not one of its own.
  std::vector<std::size_t> order(actions.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return actions[a].size() > actions[b].size(); });
  std::vector<char> claimed(text.size(), 0);
  std::vector<std::pair<std::size_t, std::size_t>> pending_claims;  // of the current length
  std::size_t current_length = 0;
  ParsedAction result;
  for (std::size_t index : order) {
    const std::string name = lower(actions[index]);
    if (name.empty()) continue;
    if (name.size() != current_length) {
      for (auto [begin, end] : pending_claims) std::fill(claimed.begin() + begin, claimed.begin() + end, 1);
      pending_claims.clear();
      current_length = name.size();
    }
    bool found = false;
    for (std::size_t pos = text.find(name); pos != std::string_view::npos; pos = text.find(name, pos + 1)) {
      pending_claims.emplace_back(pos, pos + name.size());
      const bool inside_longer = std::all_of(claimed.begin() + pos, claimed.begin() + pos + name.size(),
                                             [](char c) { return c != 0; });
      found |= !inside_longer;
    }
    if (!found) continue;
    if (result.status == ParseStatus::ok && lower(actions[result.index]) != name) return {ParseStatus::ambiguous, 0};
    if (result.status != ParseStatus::ok) result = {ParseStatus::ok, index};
  }
  return result;
}

std::string_view to_string(ParseStatus status) {
  switch (status) {
    case ParseStatus::ok: return "ok";
    case ParseStatus::no_action: return "no_action";
    case ParseStatus::ambiguous: return "ambiguous";
  }
  return "unknown";
}

}  // namespace subtb::vlm
