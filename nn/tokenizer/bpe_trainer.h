#pragma once
// Learning byte-pair merges from word counts (Sennrich et al. 2016, on bytes as GPT-2
// does). Every word starts as its bytes, tokens 0..255. Each step finds the adjacent
// pair of tokens that occurs most often over all words (weighted by the words' counts),
// makes it a new token, and rewrites every occurrence, left to right. The merges, in the
// order learned, are the model: an encoder replays them by rank.
//
// The cost of a step is the number of words that hold the chosen pair, not the corpus:
// pair counts are kept up to date as words are rewritten, every pair knows the words it
// occurs in, and a max-heap with lazy deletion yields the most frequent pair.
#include <cstdint>
#include <vector>

#include "nn/tokenizer/string_hash.h"

namespace subtb::nn {

struct BpeMerge {
  std::int32_t left = 0;
  std::int32_t right = 0;
  bool operator==(const BpeMerge&) const = default;
};

// A pair of tokens as one integer key; ordering the keys orders the pairs by (left, right).
inline std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) | static_cast<std::uint32_t>(right);
}

// Learns up to `max_merges` merges; merge i creates the token first_id + i (first_id >=
// 256: ids between the bytes and the merges are left to the caller, who puts the special
// tokens there). Stops early when no pair occurs `min_frequency` times. Ties go to the
// pair with the smaller (left, right), so the result depends on the counts alone.
std::vector<BpeMerge> learn_bpe_merges(const WordCounts& word_counts, std::int32_t first_id, std::int32_t max_merges,
                                       std::int64_t min_frequency);

}  // namespace subtb::nn
