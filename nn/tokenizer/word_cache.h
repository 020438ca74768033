#pragma once
// The tokens of recently encoded words. Text repeats its words, so an encoder that
// remembers each word's tokens runs BPE once per distinct word. Safe to share between
// threads; a copy starts empty (it is a cache, not state).
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "nn/tokenizer/string_hash.h"

namespace subtb::nn {

class WordCache {
 public:
  WordCache() = default;
  WordCache(const WordCache&) {}
  // The words belong to the tokenizer that encoded them: an assigned-to cache forgets them.
  WordCache& operator=(const WordCache&) {
    std::lock_guard lock(mutex_);
    words_.clear();
    return *this;
  }

  // Appends the word's tokens to `out` when they are cached.
  bool append(std::string_view word, std::vector<std::int32_t>& out);
  // Remembers a word's tokens. The cache empties itself when full: cheap, and enough to
  // bound its memory on text that never repeats.
  void insert(std::string_view word, const std::vector<std::int32_t>& tokens);

  // Longer words are rare and are not cached.
  static constexpr std::size_t max_word_bytes = 64;
  static constexpr std::size_t max_words = 1 << 16;

 private:
  std::mutex mutex_;
  StringMap<std::vector<std::int32_t>> words_;
};

inline bool WordCache::append(std::string_view word, std::vector<std::int32_t>& out) {
  std::lock_guard lock(mutex_);
  const auto it = words_.find(word);
  if (it == words_.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

inline void WordCache::insert(std::string_view word, const std::vector<std::int32_t>& tokens) {
  if (word.size() > max_word_bytes) return;
  std::lock_guard lock(mutex_);
  if (words_.size() >= max_words) words_.clear();
  words_.emplace(word, tokens);
}

}  // namespace subtb::nn
