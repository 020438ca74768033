#pragma once
// A byte-level BPE tokenizer (GPT-2's scheme): text -> token ids -> the same bytes.
//
// The vocabulary, in id order:
//   0 .. 255                   the 256 bytes, so that every byte string has an encoding
//   256 .. 256 + S - 1         the special tokens (special_tokens.h: the required five first)
//   256 + S .. vocab_size - 1  merge i joins two earlier tokens into token 256 + S + i
// Encoding cuts the text into words (pretokenize.h), starts each word as its bytes and
// replays the merges inside it, lowest rank first; decoding concatenates the tokens'
// bytes. decode(encode(x)) == x for every byte string x, valid UTF-8 or not.
//
// Training (train, train_files) learns the merges from text; the JSON file format is
// documented in docs/tokenizer.md. A tokenizer is immutable once built, and encode and
// decode may be called from several threads at once.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nn/tokenizer/bpe_trainer.h"
#include "nn/tokenizer/special_tokens.h"
#include "nn/tokenizer/word_cache.h"

namespace subtb::nn {

struct TokenizerTrainOptions {
  // The vocabulary size to reach: 256 bytes + the special tokens + the merges. Training
  // stops short of it when no pair of tokens occurs min_frequency times any more.
  std::int32_t vocab_size = 4096;
  std::int64_t min_frequency = 2;
  // Special tokens beyond the required five, given the ids after them.
  std::vector<std::string> extra_special_tokens = {};
};

class Tokenizer {
 public:
  // The byte-only tokenizer: the 256 bytes and the required special tokens, no merges.
  Tokenizer();
  // `special_tokens` starts with the required five (kRequiredSpecialTokens); merge i
  // creates token 256 + special_tokens.size() + i from two tokens that are bytes or
  // earlier merges. Throws naming what is wrong.
  Tokenizer(std::vector<std::string> special_tokens, std::vector<BpeMerge> merges);

  // Learns merges from texts; occurrences of special tokens in them are cut out.
  static Tokenizer train(std::span<const std::string> texts, const TokenizerTrainOptions& options);
  // The same from files, read as bytes.
  static Tokenizer train_files(std::span<const std::string> paths, const TokenizerTrainOptions& options);

  // Token ids of `text`. With allow_special, occurrences of special tokens (the longest
  // at each position) become their ids; without, they are ordinary text.
  std::vector<std::int32_t> encode(std::string_view text, bool allow_special = false) const;
  // Appends the encoding of `text` to `out`.
  void encode_append(std::string_view text, std::vector<std::int32_t>& out, bool allow_special = false) const;
  // The bytes of the tokens, special tokens as their text. Throws on an id out of range.
  std::string decode(std::span<const std::int32_t> ids) const;

  std::int32_t vocab_size() const { return static_cast<std::int32_t>(token_bytes_.size()); }
  // The bytes token `id` stands for (a special token's text for a special token).
  const std::string& token_bytes(std::int32_t id) const;
  const std::vector<std::string>& special_tokens() const { return special_tokens_; }
  bool is_special(std::int32_t id) const { return id >= 256 && id < first_merge_id(); }
  // The id of a special token given by its text; throws when there is none.
  std::int32_t special_id(std::string_view token) const;
  const std::vector<BpeMerge>& merges() const { return merges_; }
  std::int32_t first_merge_id() const { return 256 + static_cast<std::int32_t>(special_tokens_.size()); }

  // The JSON text of the tokenizer, and back (docs/tokenizer.md). from_json names
  // `source` (a path, say) in its errors.
  std::string to_json() const;
  static Tokenizer from_json(std::string_view json, std::string_view source = "JSON text");
  // Written atomically (nn/atomic_file.h).
  void save(const std::string& path) const;
  static Tokenizer load(const std::string& path);

 private:
  void encode_ordinary(std::string_view text, std::vector<std::int32_t>& out) const;
  void encode_word(std::string_view word, std::vector<std::int32_t>& out) const;

  std::vector<std::string> special_tokens_;
  std::vector<BpeMerge> merges_;
  std::vector<std::string> token_bytes_;                  // by id
  std::unordered_map<std::uint64_t, std::int32_t> rank_;  // (left, right) -> merge index
  SpecialTokenMatcher special_matcher_;
  mutable WordCache cache_;
};

}  // namespace subtb::nn
