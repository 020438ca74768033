#include "nn/tokenizer/special_tokens.h"

#include <algorithm>
#include <numeric>
#include <unordered_set>

#include "tensor/error.h"

namespace subtb::nn {

bool is_valid_utf8(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto continuation = [&](std::size_t i) { return i < text.size() && (byte(i) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char b = byte(i);
    std::size_t length;
    std::uint32_t lowest;  // the smallest code point this length may encode (no overlong forms)
    std::uint32_t code;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      length = 2, lowest = 0x80, code = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      length = 3, lowest = 0x800, code = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      length = 4, lowest = 0x10000, code = b & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k < length; ++k) {
      if (!continuation(i + k)) return false;
      code = (code << 6) | (byte(i + k) & 0x3F);
    }
    if (code < lowest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

void check_special_tokens(const std::vector<std::string>& tokens, std::string_view context) {
  for (std::size_t i = 0; i < kRequiredSpecialTokens.size(); ++i)
    SUBTB_CHECK(i < tokens.size() && tokens[i] == kRequiredSpecialTokens[i], context, ": special token ", 256 + i,
                " must be \"", kRequiredSpecialTokens[i], "\", got ",
                i < tokens.size() ? "\"" + tokens[i] + "\"" : std::string("none"));
  std::unordered_set<std::string_view> seen;
  for (const std::string& t : tokens) {
    SUBTB_CHECK(!t.empty(), context, ": a special token is empty");
    SUBTB_CHECK(is_valid_utf8(t), context, ": special token of ", t.size(), " bytes is not valid UTF-8");
    SUBTB_CHECK(seen.insert(t).second, context, ": special token \"", t, "\" is listed twice");
  }
}

SpecialTokenMatcher::SpecialTokenMatcher(const std::vector<std::string>& tokens)
    : tokens_(tokens), by_length_(tokens.size()) {
  std::iota(by_length_.begin(), by_length_.end(), std::size_t{0});
  std::stable_sort(by_length_.begin(), by_length_.end(),
                   [&](std::size_t a, std::size_t b) { return tokens_[a].size() > tokens_[b].size(); });
  for (const std::string& t : tokens_)
    if (!t.empty()) first_bytes_[static_cast<unsigned char>(t[0])] = true;
}

std::optional<SpecialTokenMatcher::Match> SpecialTokenMatcher::find(std::string_view text, std::size_t from) const {
  for (std::size_t i = from; i < text.size(); ++i) {
    if (!first_bytes_[static_cast<unsigned char>(text[i])]) continue;
    const std::string_view rest = text.substr(i);
    for (const std::size_t index : by_length_)
      if (!tokens_[index].empty() && rest.starts_with(tokens_[index])) return Match{i, index, tokens_[index].size()};
  }
  return std::nullopt;
}

}  // namespace subtb::nn
