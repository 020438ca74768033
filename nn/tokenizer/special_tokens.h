#pragma once
// Special tokens: strings with a meaning of their own to a model (where an image goes,
// where a text ends), each a single token that no merge produces. Their ids follow the
// 256 byte tokens: the required ones below always hold the same ids, whatever the
// vocabulary size, and a tokenizer may add more after them. In ordinary text they are
// just bytes; only encode(text, allow_special = true) reads them as special tokens.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace subtb::nn {

inline constexpr std::int32_t kPadToken = 256;    // "<pad>": fills batches of unequal lengths
inline constexpr std::int32_t kBosToken = 257;    // "<bos>": begins a sequence
inline constexpr std::int32_t kEosToken = 258;    // "<eos>": ends a sequence
inline constexpr std::int32_t kImageToken = 259;  // "<image>": where the image's embeddings go
inline constexpr std::int32_t kDoneToken = 260;   // "[DONE]": the agent's "task complete" action

// The required special tokens, in id order from 256.
inline constexpr std::array<std::string_view, 5> kRequiredSpecialTokens{"<pad>", "<bos>", "<eos>", "<image>", "[DONE]"};

// Throws naming `context` unless `tokens` starts with the required tokens in order and
// all are distinct, non-empty, valid UTF-8 (so that JSON can hold them).
void check_special_tokens(const std::vector<std::string>& tokens, std::string_view context);

// Finds special tokens in a text: at each position the longest token that starts there.
class SpecialTokenMatcher {
 public:
  struct Match {
    std::size_t position;
    std::size_t index;  // into the tokens given to the constructor
    std::size_t length;
  };

  explicit SpecialTokenMatcher(const std::vector<std::string>& tokens);

  // The first occurrence of a token at or after `from`, if any.
  std::optional<Match> find(std::string_view text, std::size_t from) const;

 private:
  std::vector<std::string> tokens_;
  std::vector<std::size_t> by_length_;      // indices into tokens_, longest first
  std::array<bool, 256> first_bytes_ = {};  // the bytes a token can start with
};

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace subtb::nn
