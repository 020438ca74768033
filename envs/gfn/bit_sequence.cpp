#include "envs/gfn/bit_sequence.h"

#include <algorithm>
#include <bit>
#include <numeric>
#include <string>
#include <unordered_set>

#include "envs/gfn/rng.h"
#include "tensor/error.h"

namespace subtb::gfn {

namespace {

constexpr std::int64_t index_limit = std::int64_t{1} << 62;

// base^0 .. base^count, or empty when base^count exceeds index_limit.
std::vector<std::int64_t> powers(std::int64_t base, int count) {
  std::vector<std::int64_t> p{1};
  for (int i = 0; i < count; ++i) {
    if (p.back() > index_limit / base) return {};
    p.push_back(p.back() * base);
  }
  return p;
}

BitSequenceConfig checked(BitSequenceConfig c) {
  const int n = c.length, k = c.word_bits;
  SUBTB_CHECK(k >= 1 && k <= 16, "BitSequence: word_bits must lie in [1, 16], got ", k);
  SUBTB_CHECK(n > 0 && n <= BitSequence::max_length && n % 8 == 0 && n % k == 0, "BitSequence: length ", n,
              " must be a positive multiple of 8 and of word_bits ", k, ", at most ", BitSequence::max_length);
  // 5^(n/8) distinct motif strings exist; more modes than that cannot be distinct.
  const std::vector<std::int64_t> strings = powers(5, n / 8);
  SUBTB_CHECK(c.num_modes >= 1 && (strings.empty() || c.num_modes <= strings.back()), "BitSequence: ", c.num_modes,
              " modes requested, between 1 and 5^", n / 8, " possible");
  SUBTB_CHECK(c.temperature > 0, "BitSequence: temperature must be > 0, got ", c.temperature);
  SUBTB_CHECK(!c.beta || *c.beta > 0, "BitSequence: beta must be > 0, got ", c.beta.value_or(0));
  SUBTB_CHECK(c.mode_threshold >= 0, "BitSequence: mode_threshold must be >= 0, got ", c.mode_threshold);
  return c;
}

}  // namespace

BitSequence::BitSequence(BitSequenceConfig config)
    : DiscreteEnv(Dims{
          .state_dim = checked(config).length / config.word_bits + 1,
          .encoding_dim = 2 * config.length,
          .num_actions = config.order == BitOrder::append ? 1 << config.word_bits
                                                          : (config.length / config.word_bits) << config.word_bits,
          .num_backward_actions = config.order == BitOrder::append ? 1 : config.length / config.word_bits,
          .exit_action = -1,
          .max_trajectory_length = config.length / config.word_bits,
      }),
      config_(config),
      slots_(config.length / config.word_bits),
      words_(1 << config.word_bits),
      packed_words_((config.length + 63) / 64),
      distance_scale_(config.beta ? *config.beta / config.length : 1.0 / config.temperature) {
  const int n = config.length, k = config.word_bits;
  Rng rng(config.mode_seed);
  std::unordered_set<std::string> seen;  // motif draws of the modes so far, one char per motif
  std::string draw(static_cast<std::size_t>(n / 8), '\0');
  mode_words_.assign(static_cast<std::size_t>(config.num_modes) * static_cast<std::size_t>(slots_), 0);
  for (int m = 0; m < config.num_modes;) {
    for (char& motif : draw) motif = static_cast<char>(rng.below(5));
    if (!seen.insert(draw).second) continue;
    std::int32_t* words = &mode_words_[static_cast<std::size_t>(m) * static_cast<std::size_t>(slots_)];
    for (int i = 0; i < n; ++i) {
      const int b = (motifs[static_cast<std::size_t>(draw[static_cast<std::size_t>(i / 8)])] >> (7 - i % 8)) & 1;
      words[i / k] |= b << (k - 1 - i % k);
    }
    modes_.push_back(pack(words));
    ++m;
  }
}

std::string BitSequence::name() const {
  return str("BitSequence(n=", config_.length, ", k=", config_.word_bits,
             config_.order == BitOrder::append ? ")" : ", any position)");
}

// Bit i of the string goes to bit 63 - i % 64 of word i / 64, so packed words compare
// like the strings they hold.
BitSequence::Packed BitSequence::pack(const std::int32_t* words) const {
  Packed packed{};
  const int k = config_.word_bits;
  for (int p = 0; p < slots_; ++p) {
    const std::uint64_t v = static_cast<std::uint64_t>(words[p]);
    const int offset = p * k, shift = 64 - offset % 64 - k;
    if (shift >= 0) {
      packed[static_cast<std::size_t>(offset / 64)] |= v << shift;
    } else {
      packed[static_cast<std::size_t>(offset / 64)] |= v >> -shift;
      packed[static_cast<std::size_t>(offset / 64 + 1)] |= v << (64 + shift);
    }
  }
  return packed;
}

int BitSequence::bit(const std::int32_t* words, int i) const {
  const int k = config_.word_bits;
  return (words[i / k] >> (k - 1 - i % k)) & 1;
}

void BitSequence::mode_state(int mode, std::int32_t* state) const {
  SUBTB_CHECK(mode >= 0 && mode < config_.num_modes, name(), " mode_state: mode ", mode, " out of range [0, ",
              config_.num_modes, ")");
  std::copy_n(&mode_words_[static_cast<std::size_t>(mode) * static_cast<std::size_t>(slots_)], slots_, state);
  state[slots_] = slots_;
}

int BitSequence::distance_to_modes(const std::int32_t* state, int* nearest) const {
  const Packed x = pack(state);
  int best = config_.length + 1, best_mode = -1;
  for (int m = 0; m < config_.num_modes; ++m) {
    const Packed& mode = modes_[static_cast<std::size_t>(m)];
    int d = 0;
    for (int w = 0; w < packed_words_; ++w) d += std::popcount(x[static_cast<std::size_t>(w)] ^ mode[static_cast<std::size_t>(w)]);
    if (d < best) {
      best = d;
      best_mode = m;
    }
  }
  if (nearest) *nearest = best_mode;
  return best;
}

std::vector<std::int32_t> BitSequence::test_set(int variants_per_mode, std::uint64_t seed) const {
  SUBTB_CHECK(variants_per_mode >= 0, name(), " test_set: variants_per_mode must be >= 0, got ", variants_per_mode);
  const int n = config_.length, k = config_.word_bits, width = state_dim();
  Rng rng(seed);
  std::vector<int> positions(static_cast<std::size_t>(n));
  std::vector<std::int32_t> out(static_cast<std::size_t>(config_.num_modes) * static_cast<std::size_t>(variants_per_mode) *
                                static_cast<std::size_t>(width));
  std::int32_t* row = out.data();
  for (int m = 0; m < config_.num_modes; ++m) {
    for (int v = 0; v < variants_per_mode; ++v, row += width) {
      mode_state(m, row);
      const int flips = static_cast<int>(rng.below(static_cast<std::uint32_t>(n)));
      std::iota(positions.begin(), positions.end(), 0);
      for (int f = 0; f < flips; ++f) {  // a partial Fisher-Yates shuffle picks distinct bits
        const int j = f + static_cast<int>(rng.below(static_cast<std::uint32_t>(n - f)));
        std::swap(positions[static_cast<std::size_t>(f)], positions[static_cast<std::size_t>(j)]);
        const int i = positions[static_cast<std::size_t>(f)];
        row[i / k] ^= 1 << (k - 1 - i % k);
      }
    }
  }
  return out;
}

// ---- dynamics

void BitSequence::reset_rows(std::int32_t* states, std::int64_t batch) const {
  const int width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    std::fill_n(states, slots_, -1);
    states[slots_] = 0;
  }
}

void BitSequence::forward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const {
  const int width = state_dim(), actions = num_actions();
  for (std::int64_t row = 0; row < batch; ++row, states += width, masks += actions) {
    if (config_.order == BitOrder::append) {
      std::fill_n(masks, actions, states[slots_] < slots_);
    } else {
      for (int p = 0; p < slots_; ++p) std::fill_n(masks + p * words_, words_, states[p] < 0);
    }
  }
}

void BitSequence::step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const {
  const int width = state_dim();
  const bool append = config_.order == BitOrder::append;
  for (std::int64_t row = 0; row < batch; ++row) {  // all rows are checked before any moves
    const std::int32_t a = actions[row];
    const std::int32_t* s = states + row * width;
    if (a == no_action) continue;
    if (a < 0 || a >= num_actions()) invalid_action("step", row, a);
    const int slot = append ? s[slots_] : a / words_;
    if (slot >= slots_ || s[slot] >= 0) invalid_action("step", row, a);
  }
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    const std::int32_t a = actions[row];
    if (a == no_action) continue;
    const int slot = append ? states[slots_] : a / words_;
    states[slot] = a % words_;
    ++states[slots_];
  }
}

void BitSequence::backward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const {
  const int width = state_dim(), actions = num_backward_actions();
  for (std::int64_t row = 0; row < batch; ++row, states += width, masks += actions) {
    if (config_.order == BitOrder::append) {
      masks[0] = states[slots_] > 0;
    } else {
      for (int p = 0; p < slots_; ++p) masks[p] = states[p] >= 0;
    }
  }
}

void BitSequence::backward_step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const {
  const int width = state_dim();
  const bool append = config_.order == BitOrder::append;
  for (std::int64_t row = 0; row < batch; ++row) {
    const std::int32_t a = actions[row];
    const std::int32_t* s = states + row * width;
    if (a == no_action) continue;
    if (a < 0 || a >= num_backward_actions()) invalid_action("backward_step", row, a);
    const int slot = append ? s[slots_] - 1 : a;
    if (slot < 0 || s[slot] < 0) invalid_action("backward_step", row, a);
  }
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    const std::int32_t a = actions[row];
    if (a == no_action) continue;
    states[append ? states[slots_] - 1 : a] = -1;
    --states[slots_];
  }
}

void BitSequence::terminal_rows(const std::int32_t* states, std::int64_t batch, bool* out) const {
  const int width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row) out[row] = states[row * width + slots_] == slots_;
}

void BitSequence::log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const {
  const int width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    SUBTB_CHECK(states[slots_] == slots_, name(), " log_reward: row ", row, " is not terminal");
    out[row] = -distance_scale_ * distance_to_modes(states);
  }
}

void BitSequence::encode_rows(const std::int32_t* states, std::int64_t batch, float* out) const {
  const int width = state_dim(), k = config_.word_bits;
  std::fill_n(out, batch * encoding_dim(), 0.0f);
  for (std::int64_t row = 0; row < batch; ++row, states += width, out += encoding_dim()) {
    for (int p = 0; p < slots_; ++p) {
      if (states[p] < 0) continue;
      for (int j = 0; j < k; ++j) out[2 * (p * k + j) + ((states[p] >> (k - 1 - j)) & 1)] = 1.0f;
    }
  }
}

void BitSequence::mode_id_rows(const std::int32_t* states, std::int64_t batch, std::int64_t* out) const {
  const int width = state_dim();
  for (std::int64_t row = 0; row < batch; ++row, states += width) {
    SUBTB_CHECK(states[slots_] == slots_, name(), " mode_ids: row ", row, " is not terminal");
    int nearest = -1;
    out[row] = distance_to_modes(states, &nearest) <= config_.mode_threshold ? nearest : -1;
  }
}

std::int32_t BitSequence::forward_action_of(const std::int32_t* state, std::int32_t backward_action) const {
  if (config_.order == BitOrder::append) return state[state[slots_] - 1];
  return backward_action * words_ + state[backward_action];
}

// ---- enumeration

std::int64_t BitSequence::num_terminal_states() const {
  const std::vector<std::int64_t> p = powers(words_, slots_);
  return p.empty() ? -1 : p.back();
}

void BitSequence::terminal_state(std::int64_t index, std::int32_t* state) const {
  SUBTB_CHECK(index >= 0 && index < num_terminal_states(), name(), " terminal_state: index ", index,
              " out of range [0, ", num_terminal_states(), ")");
  for (int p = slots_ - 1; p >= 0; --p, index /= words_) state[p] = static_cast<std::int32_t>(index % words_);
  state[slots_] = slots_;
}

std::int64_t BitSequence::terminal_index(const std::int32_t* state) const {
  SUBTB_CHECK(state[slots_] == slots_, name(), " terminal_index: the state is not terminal");
  std::int64_t index = 0;
  for (int p = 0; p < slots_; ++p) index = index * words_ + state[p];
  return index;
}

// append: states with j words, j < L, come in blocks of words^j after the shorter ones.
// any_position: slot digits 0 (empty) or word + 1 in base words + 1; the states are the
// digit strings with at least one 0, ranked lexicographically. Filling a slot raises a
// digit, so the rank order is topological.
std::int64_t BitSequence::num_nonterminal_states() const {
  const std::vector<std::int64_t> w = powers(words_, slots_);
  if (w.empty()) return -1;
  if (config_.order == BitOrder::append) return (w.back() - 1) / (words_ - 1);
  const std::vector<std::int64_t> q = powers(words_ + 1, slots_);
  return q.empty() ? -1 : q.back() - w.back();
}

void BitSequence::nonterminal_state(std::int64_t index, std::int32_t* state) const {
  SUBTB_CHECK(index >= 0 && index < num_nonterminal_states(), name(), " nonterminal_state: index ", index,
              " out of range [0, ", num_nonterminal_states(), ")");
  std::fill_n(state, slots_, -1);
  const std::vector<std::int64_t> w = powers(words_, slots_);
  if (config_.order == BitOrder::append) {
    int filled = 0;
    while (index >= w[static_cast<std::size_t>(filled)]) index -= w[static_cast<std::size_t>(filled++)];
    for (int p = filled - 1; p >= 0; --p, index /= words_) state[p] = static_cast<std::int32_t>(index % words_);
    state[slots_] = filled;
    return;
  }
  const std::vector<std::int64_t> q = powers(words_ + 1, slots_);
  bool empty_seen = false;
  int filled = 0;
  for (int p = 0; p < slots_; ++p) {
    const std::size_t rest = static_cast<std::size_t>(slots_ - p - 1);
    if (index < q[rest]) {  // digit 0: any completion keeps an empty slot
      empty_seen = true;
      continue;
    }
    index -= q[rest];
    const std::int64_t per_word = empty_seen ? q[rest] : q[rest] - w[rest];
    state[p] = static_cast<std::int32_t>(index / per_word);
    index %= per_word;
    ++filled;
  }
  state[slots_] = filled;
}

std::int64_t BitSequence::nonterminal_index(const std::int32_t* state) const {
  SUBTB_CHECK(state[slots_] < slots_, name(), " nonterminal_index: the state is terminal");
  const std::vector<std::int64_t> w = powers(words_, slots_);
  std::int64_t index = 0;
  if (config_.order == BitOrder::append) {
    for (int j = 0; j < state[slots_]; ++j) index += w[static_cast<std::size_t>(j)];
    std::int64_t prefix = 0;
    for (int p = 0; p < state[slots_]; ++p) prefix = prefix * words_ + state[p];
    return index + prefix;
  }
  const std::vector<std::int64_t> q = powers(words_ + 1, slots_);
  bool empty_seen = false;
  for (int p = 0; p < slots_; ++p) {
    const std::size_t rest = static_cast<std::size_t>(slots_ - p - 1);
    if (state[p] < 0) {
      empty_seen = true;
      continue;
    }
    index += q[rest] + state[p] * (empty_seen ? q[rest] : q[rest] - w[rest]);
  }
  return index;
}

}  // namespace subtb::gfn
