#include "nn/tokenizer/tokenizer.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <queue>

#include "nn/tokenizer/pretokenize.h"
#include "tensor/error.h"

namespace subtb::nn {

namespace {

std::vector<std::string> required_special_tokens() {
  return {kRequiredSpecialTokens.begin(), kRequiredSpecialTokens.end()};
}

std::vector<std::string> checked_special_tokens(std::vector<std::string> tokens) {
  check_special_tokens(tokens, "Tokenizer");
  return tokens;
}

// Adds the words of `text` to `counts`; special tokens are cut out and not counted.
void count_words(std::string_view text, const SpecialTokenMatcher& matcher, WordCounts& counts) {
  std::vector<std::string_view> words;
  const auto count = [&](std::string_view segment) {
    words.clear();
    pretokenize(segment, words);
    for (const std::string_view w : words) {
      const auto it = counts.find(w);
      if (it != counts.end()) {
        ++it->second;
      } else {
        counts.emplace(w, 1);
      }
    }
  };
  std::size_t pos = 0;
  while (const auto match = matcher.find(text, pos)) {
    count(text.substr(pos, match->position - pos));
    pos = match->position + match->length;
  }
  count(text.substr(pos));
}

// The special tokens a training run gives its tokenizer, after checking its options.
std::vector<std::string> training_special_tokens(const TokenizerTrainOptions& options) {
  std::vector<std::string> specials = required_special_tokens();
  specials.insert(specials.end(), options.extra_special_tokens.begin(), options.extra_special_tokens.end());
  check_special_tokens(specials, "Tokenizer::train");
  const std::int32_t least = 256 + static_cast<std::int32_t>(specials.size());
  SUBTB_CHECK(options.vocab_size >= least, "Tokenizer::train: vocab_size ", options.vocab_size,
              " is smaller than the 256 bytes and ", specials.size(), " special tokens (", least, ")");
  SUBTB_CHECK(options.min_frequency >= 1, "Tokenizer::train: min_frequency must be at least 1, got ",
              options.min_frequency);
  return specials;
}

// Counts the words of the training texts, then learns the merges.
struct Counter {
  std::vector<std::string> specials;
  SpecialTokenMatcher matcher;
  WordCounts counts;

  explicit Counter(const TokenizerTrainOptions& options)
      : specials(training_special_tokens(options)), matcher(specials) {}

  void add(std::string_view text) { count_words(text, matcher, counts); }

  Tokenizer train(const TokenizerTrainOptions& options) {
    const std::int32_t first_id = 256 + static_cast<std::int32_t>(specials.size());
    std::vector<BpeMerge> merges =
        learn_bpe_merges(counts, first_id, options.vocab_size - first_id, options.min_frequency);
    return Tokenizer(std::move(specials), std::move(merges));
  }
};

// A symbol of a word being encoded: a token in a doubly linked list over positions.
struct Symbol {
  std::int32_t token;  // -1 once merged into its left neighbour
  std::int32_t prev;   // -1 at the start
  std::int32_t next;   // -1 at the end
};

// A mergeable pair at `position` (its left symbol). The lowest rank comes first, and
// within a rank the leftmost, which replays the merges as training applied them.
struct Candidate {
  std::int32_t rank;
  std::int32_t position;
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : position > o.position; }
};

}  // namespace

Tokenizer::Tokenizer() : Tokenizer(required_special_tokens(), {}) {}

Tokenizer::Tokenizer(std::vector<std::string> special_tokens, std::vector<BpeMerge> merges)
    : special_tokens_(checked_special_tokens(std::move(special_tokens))),
      merges_(std::move(merges)),
      special_matcher_(special_tokens_) {
  token_bytes_.reserve(static_cast<std::size_t>(first_merge_id()) + merges_.size());
  for (int b = 0; b < 256; ++b) token_bytes_.emplace_back(1, static_cast<char>(b));
  token_bytes_.insert(token_bytes_.end(), special_tokens_.begin(), special_tokens_.end());
  rank_.reserve(merges_.size());
  for (std::size_t i = 0; i < merges_.size(); ++i) {
    const BpeMerge& m = merges_[i];
    const std::int32_t id = vocab_size();
    for (const std::int32_t operand : {m.left, m.right})
      SUBTB_CHECK(operand >= 0 && operand < id && !is_special(operand), "Tokenizer: merge ", i, " (", m.left, ", ",
                  m.right, ") refers to token ", operand, ", which is neither a byte nor an earlier merge (merge ", i,
                  " creates token ", id, ")");
    const auto [it, fresh] = rank_.emplace(pair_key(m.left, m.right), static_cast<std::int32_t>(i));
    SUBTB_CHECK(fresh, "Tokenizer: merge ", i, " (", m.left, ", ", m.right, ") repeats merge ", it->second);
    token_bytes_.push_back(token_bytes_[static_cast<std::size_t>(m.left)] +
                           token_bytes_[static_cast<std::size_t>(m.right)]);
  }
}

Tokenizer Tokenizer::train(std::span<const std::string> texts, const TokenizerTrainOptions& options) {
  Counter counter(options);
  for (const std::string& text : texts) counter.add(text);
  return counter.train(options);
}

Tokenizer Tokenizer::train_files(std::span<const std::string> paths, const TokenizerTrainOptions& options) {
  Counter counter(options);
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    SUBTB_CHECK(in, "Tokenizer::train_files: cannot open '", path, "': ", std::strerror(errno));
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    SUBTB_CHECK(!in.bad(), "Tokenizer::train_files: cannot read '", path, "'");
    counter.add(text);
  }
  return counter.train(options);
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<std::int32_t> out;
  encode_append(text, out, allow_special);
  return out;
}

void Tokenizer::encode_append(std::string_view text, std::vector<std::int32_t>& out, bool allow_special) const {
  if (!allow_special) return encode_ordinary(text, out);
  std::size_t pos = 0;
  while (const auto match = special_matcher_.find(text, pos)) {
    encode_ordinary(text.substr(pos, match->position - pos), out);
    out.push_back(256 + static_cast<std::int32_t>(match->index));
    pos = match->position + match->length;
  }
  encode_ordinary(text.substr(pos), out);
}

void Tokenizer::encode_ordinary(std::string_view text, std::vector<std::int32_t>& out) const {
  std::vector<std::string_view> words;
  pretokenize(text, words);
  for (const std::string_view word : words)
    if (!cache_.append(word, out)) encode_word(word, out);
}

void Tokenizer::encode_word(std::string_view word, std::vector<std::int32_t>& out) const {
  const auto n = static_cast<std::int32_t>(word.size());
  std::vector<Symbol> symbols(static_cast<std::size_t>(n));
  for (std::int32_t i = 0; i < n; ++i)
    symbols[static_cast<std::size_t>(i)] = {static_cast<unsigned char>(word[static_cast<std::size_t>(i)]), i - 1,
                                            i + 1 < n ? i + 1 : -1};

  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto offer = [&](std::int32_t position) {
    const Symbol& left = symbols[static_cast<std::size_t>(position)];
    if (left.next < 0) return;
    const auto it = rank_.find(pair_key(left.token, symbols[static_cast<std::size_t>(left.next)].token));
    if (it != rank_.end()) queue.push({it->second, position});
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) offer(i);

  // Merging creates only pairs of higher rank than the merge itself (their left or right
  // is its new token), so the queue replays the merges in rank order.
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[static_cast<std::size_t>(c.position)];
    const BpeMerge& merge = merges_[static_cast<std::size_t>(c.rank)];
    // A candidate is outdated when either symbol has changed since it was offered.
    if (left.token != merge.left || left.next < 0) continue;
    Symbol& right = symbols[static_cast<std::size_t>(left.next)];
    if (right.token != merge.right) continue;
    left.token = first_merge_id() + c.rank;
    right.token = -1;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<std::size_t>(right.next)].prev = c.position;
    if (left.prev >= 0) offer(left.prev);
    offer(c.position);
  }

  const std::size_t start = out.size();
  for (std::int32_t i = 0; i >= 0; i = symbols[static_cast<std::size_t>(i)].next)
    out.push_back(symbols[static_cast<std::size_t>(i)].token);
  cache_.insert(word, std::vector<std::int32_t>(out.begin() + static_cast<std::ptrdiff_t>(start), out.end()));
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids) const {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    SUBTB_CHECK(ids[i] >= 0 && ids[i] < vocab_size(), "Tokenizer::decode: token id ", ids[i], " at position ", i,
                " is out of range [0, ", vocab_size(), ")");
    out += token_bytes_[static_cast<std::size_t>(ids[i])];
  }
  return out;
}

const std::string& Tokenizer::token_bytes(std::int32_t id) const {
  SUBTB_CHECK(id >= 0 && id < vocab_size(), "Tokenizer::token_bytes: token id ", id, " is out of range [0, ",
              vocab_size(), ")");
  return token_bytes_[static_cast<std::size_t>(id)];
}

std::int32_t Tokenizer::special_id(std::string_view token) const {
  std::string known;
  for (std::size_t i = 0; i < special_tokens_.size(); ++i) {
    if (special_tokens_[i] == token) return 256 + static_cast<std::int32_t>(i);
    known += (known.empty() ? "" : ", ") + special_tokens_[i];
  }
  SUBTB_THROW("Tokenizer::special_id: no special token \"", token, "\" (the special tokens are ", known, ")");
}

}  // namespace subtb::nn
