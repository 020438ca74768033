#include "nn/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <optional>
#include <queue>

#include "tensor/error.h"

namespace subtb::nn {

namespace {

using PairKey = std::uint64_t;  // pair_key(left, right)

// A pair's count when it was pushed; outdated entries are skipped when popped.
struct HeapEntry {
  std::int64_t count;
  PairKey pair;
};
// The heap's top: the highest count, then the smallest pair.
struct Below {
  bool operator()(const HeapEntry& a, const HeapEntry& b) const {
    return a.count != b.count ? a.count < b.count : a.pair > b.pair;
  }
};

class Trainer {
 public:
  explicit Trainer(const WordCounts& word_counts) {
    for (const auto& [word, count] : word_counts) {
      if (word.size() < 2 || count <= 0) continue;  // no pair to count
      words_.emplace_back(word.begin(), word.end());
      for (std::int32_t& t : words_.back()) t = static_cast<unsigned char>(t);
      counts_.push_back(count);
    }
    // Words are visited in hash order; everything below depends only on the counts.
    last_visit_.assign(words_.size(), -1);
    for (std::size_t w = 0; w < words_.size(); ++w) add_pairs(static_cast<std::int32_t>(w), 1, -1);
    push_touched();
  }

  std::vector<BpeMerge> run(std::int32_t first_id, std::int32_t max_merges, std::int64_t min_frequency) {
    std::vector<BpeMerge> merges;
    while (static_cast<std::int32_t>(merges.size()) < max_merges) {
      const std::optional<HeapEntry> best = pop_best();
      if (!best || best->count < min_frequency) break;
      const BpeMerge merge{static_cast<std::int32_t>(best->pair >> 32), static_cast<std::int32_t>(best->pair)};
      apply(merge, first_id + static_cast<std::int32_t>(merges.size()), static_cast<std::int32_t>(merges.size()));
      merges.push_back(merge);
    }
    return merges;
  }

 private:
  std::optional<HeapEntry> pop_best() {
    while (!heap_.empty()) {
      const HeapEntry top = heap_.top();
      heap_.pop();
      const auto it = pair_counts_.find(top.pair);
      if (it != pair_counts_.end() && it->second == top.count) return top;
    }
    return std::nullopt;
  }

  // Adds sign * (the word's count) to each of its pairs' counts. Pairs that hold
  // `new_token` (all of them when it is -1) learn that they occur in the word; the others
  // knew already.
  void add_pairs(std::int32_t w, std::int64_t sign, std::int32_t new_token) {
    const std::vector<std::int32_t>& word = words_[static_cast<std::size_t>(w)];
    for (std::size_t i = 0; i + 1 < word.size(); ++i) {
      const PairKey p = pair_key(word[i], word[i + 1]);
      pair_counts_[p] += sign * counts_[static_cast<std::size_t>(w)];
      touched_.push_back(p);
      if (sign > 0 && (new_token < 0 || word[i] == new_token || word[i + 1] == new_token)) where_[p].push_back(w);
    }
  }

  // Rewrites every word that holds the merge's pair, keeping the counts exact.
  void apply(const BpeMerge& merge, std::int32_t new_token, std::int32_t step) {
    const PairKey merged = pair_key(merge.left, merge.right);
    const std::vector<std::int32_t> occurrences = std::move(where_[merged]);
    for (const std::int32_t w : occurrences) {
      // A word is listed once per time it gained the pair; rewrite it once.
      if (last_visit_[static_cast<std::size_t>(w)] == step) continue;
      last_visit_[static_cast<std::size_t>(w)] = step;
      std::vector<std::int32_t>& word = words_[static_cast<std::size_t>(w)];
      add_pairs(w, -1, new_token);
      std::size_t out = 0;
      for (std::size_t in = 0; in < word.size(); ++out) {
        if (in + 1 < word.size() && word[in] == merge.left && word[in + 1] == merge.right) {
          word[out] = new_token;
          in += 2;
        } else {
          word[out] = word[in++];
        }
      }
      word.resize(out);
      add_pairs(w, 1, new_token);
    }
    push_touched();
  }

  // Re-pushes every pair whose count changed; pairs that no longer occur are forgotten
  // (a pair of old tokens never reappears: rewriting only creates pairs with the new one).
  void push_touched() {
    std::sort(touched_.begin(), touched_.end());
    touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
    for (const PairKey p : touched_) {
      const auto it = pair_counts_.find(p);
      if (it->second > 0) {
        heap_.push({it->second, p});
      } else {
        pair_counts_.erase(it);
        where_.erase(p);
      }
    }
    touched_.clear();
  }

  std::vector<std::vector<std::int32_t>> words_;
  std::vector<std::int64_t> counts_;
  std::vector<std::int32_t> last_visit_;  // the merge step that last rewrote each word
  std::unordered_map<PairKey, std::int64_t> pair_counts_;
  std::unordered_map<PairKey, std::vector<std::int32_t>> where_;  // words holding each pair (may repeat)
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, Below> heap_;
  std::vector<PairKey> touched_;
};

}  // namespace

std::vector<BpeMerge> learn_bpe_merges(const WordCounts& word_counts, std::int32_t first_id, std::int32_t max_merges,
                                       std::int64_t min_frequency) {
  SUBTB_CHECK(first_id >= 256, "learn_bpe_merges: first_id must be at least 256 (the byte tokens), got ", first_id);
  SUBTB_CHECK(max_merges >= 0, "learn_bpe_merges: max_merges must be non-negative, got ", max_merges);
  SUBTB_CHECK(min_frequency >= 1, "learn_bpe_merges: min_frequency must be at least 1, got ", min_frequency);
  return Trainer(word_counts).run(first_id, max_merges, min_frequency);
}

}  // namespace subtb::nn
