#pragma once
// Pre-tokenisation: the cut of a text into words before byte-pair encoding. Merges never
// cross a word boundary, so words bound what a token can span ("dog." never becomes one
// token, " dog" and "." do), and an encoder can cache each word's tokens.
//
// The rules, GPT-2's in spirit but written by hand over bytes (no regex, no Unicode
// tables), so that they are fast and cover every byte string, valid UTF-8 or not:
//   - every byte has a class: letter (A-Z, a-z, and every byte >= 0x80, so that UTF-8
//     letters such as "é" stay inside their word), digit, space (' ', \t, \n, \v, \f,
//     \r) or other (punctuation, control bytes, NUL);
//   - a word is a run of letters, a run of at most three digits (numbers split into
//     groups from the left: "12345" -> "123" "45", so that the vocabulary needs no
//     token per large number), or a run of other bytes;
//   - a single ' ' before a word belongs to it (" dog"), so that a word has one token
//     whether or not it starts a line;
//   - the rest of a whitespace run is a word of its own ("\n\n", or "   " before " x").
// The words tile the text: concatenated, they give it back byte for byte.
#include <string_view>
#include <vector>

namespace subtb::nn {

// Appends the words of `text` to `out`, as views into `text`, in order.
void pretokenize(std::string_view text, std::vector<std::string_view>& out);

inline std::vector<std::string_view> pretokenize(std::string_view text) {
  std::vector<std::string_view> out;
  pretokenize(text, out);
  return out;
}

}  // namespace subtb::nn
