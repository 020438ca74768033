#include "nn/tokenizer/pretokenize.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace subtb::nn {

namespace {

enum class ByteClass : std::uint8_t { letter, digit, space, other };

constexpr std::array<ByteClass, 256> make_classes() {
  std::array<ByteClass, 256> classes{};
  for (int b = 0; b < 256; ++b) {
    ByteClass c = ByteClass::other;
    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || b >= 0x80) c = ByteClass::letter;
    if (b >= '0' && b <= '9') c = ByteClass::digit;
    if (b == ' ' || (b >= '\t' && b <= '\r')) c = ByteClass::space;
    classes[static_cast<std::size_t>(b)] = c;
  }
  return classes;
}
constexpr std::array<ByteClass, 256> kClasses = make_classes();

ByteClass class_of(char c) { return kClasses[static_cast<unsigned char>(c)]; }

constexpr std::size_t kMaxDigits = 3;

// The end of the word (letters, digits or other bytes) that starts at `begin`.
std::size_t word_end(std::string_view text, std::size_t begin) {
  const ByteClass c = class_of(text[begin]);
  const std::size_t limit = c == ByteClass::digit ? std::min(text.size(), begin + kMaxDigits) : text.size();
  std::size_t end = begin + 1;
  while (end < limit && class_of(text[end]) == c) ++end;
  return end;
}

}  // namespace

void pretokenize(std::string_view text, std::vector<std::string_view>& out) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    std::size_t end;
    if (class_of(text[i]) != ByteClass::space) {
      end = word_end(text, i);
    } else if (text[i] == ' ' && i + 1 < n && class_of(text[i + 1]) != ByteClass::space) {
      end = word_end(text, i + 1);  // " dog": the space joins the word
    } else {
      end = i + 1;
      while (end < n && class_of(text[end]) == ByteClass::space) ++end;
      // A final ' ' before a word is that word's, not the run's.
      if (end < n && text[end - 1] == ' ') --end;
    }
    out.push_back(text.substr(i, end - i));
    i = end;
  }
}

}  // namespace subtb::nn
