#pragma once
// BitSequence(n, k): the bit-sequence task of Malkin et al. (2022, trajectory balance),
// as torchgfn implements it. An n-bit string is built one k-bit word at a time (word
// value v stands for its k bits, most significant first).
//
// Modes: 60 distinct n-bit strings, each a concatenation of n/8 motifs drawn uniformly,
// with replacement, from {00000000, 11111111, 11110000, 00001111, 00111100}; draws that
// repeat an earlier mode are redrawn. The draws come from Rng(mode_seed), so a seed fixes
// the set on every platform (it is not torchgfn's set for the same seed).
// Reward: log R(x) = -d(x) / T with d(x) = min over modes of the Hamming distance
// (torchgfn), or -beta d(x) / n when beta is set.
//
// Orders:
//  - append (default): words are appended left to right, so every state has one parent
//    (a tree: P_B = 1). Actions: the 2^k words. One backward action: drop the last word.
//    torchgfn adds a forced exit step after the last word; here the episode simply ends
//    when the string is full, so trajectories have n/k steps and no exit.
//  - any_position: a word is written into any empty slot, so the state space is a DAG and
//    a state with j words has j parents. Actions: slot * 2^k + word. Backward actions:
//    clear slot i.
//
// State row: [w_0, ..., w_{L-1}, filled] with L = n/k slots, -1 marking an empty slot.
// Encoding: two floats per bit, (bit is 0, bit is 1), both 0 while the bit is unset.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "envs/gfn/discrete_env.h"

namespace subtb::gfn {

enum class BitOrder { append, any_position };

struct BitSequenceConfig {
  int length = 120;    // n bits, a multiple of 8 and of word_bits, at most 512
  int word_bits = 8;   // k in [1, 16]
  int num_modes = 60;
  std::uint64_t mode_seed = 0;
  BitOrder order = BitOrder::append;
  double temperature = 1.0;
  std::optional<double> beta = std::nullopt;  // set: log R = -beta d / n instead of -d / T
  int mode_threshold = 0;      // mode_ids: a string within this Hamming distance of a mode
};

class BitSequence final : public DiscreteEnv {
 public:
  static constexpr int max_length = 512;
  static constexpr std::array<std::uint8_t, 5> motifs = {0b00000000, 0b11111111, 0b11110000, 0b00001111, 0b00111100};

  explicit BitSequence(BitSequenceConfig config = {});

  std::string name() const override;
  const BitSequenceConfig& config() const { return config_; }
  int slots() const { return slots_; }

  // Mode m as a terminal state row.
  void mode_state(int mode, std::int32_t* state) const;
  // min over modes of the Hamming distance of a full string, and the nearest mode
  // (lowest index among ties).
  int distance_to_modes(const std::int32_t* state, int* nearest = nullptr) const;

  // Terminal states for the Spearman metric: for each mode, `variants_per_mode` copies
  // with K distinct bits flipped, K uniform in [0, n) and the bits uniform (torchgfn's
  // create_test_set, drawn from Rng(seed)). [num_modes * variants_per_mode, state_dim].
  std::vector<std::int32_t> test_set(int variants_per_mode, std::uint64_t seed) const;

  std::int64_t num_modes() const override { return config_.num_modes; }

  // Terminal index: the string read as an n-bit number; non-terminal states in order of
  // filled count then prefix (append) or as digit strings over {empty, words} ranked
  // lexicographically (any_position). Enumerable while the counts fit in 62 bits.
  std::int64_t num_terminal_states() const override;
  void terminal_state(std::int64_t index, std::int32_t* state) const override;
  std::int64_t terminal_index(const std::int32_t* state) const override;
  std::int64_t num_nonterminal_states() const override;
  void nonterminal_state(std::int64_t index, std::int32_t* state) const override;
  std::int64_t nonterminal_index(const std::int32_t* state) const override;

 protected:
  void reset_rows(std::int32_t* states, std::int64_t batch) const override;
  void forward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const override;
  void step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const override;
  void backward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const override;
  void backward_step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const override;
  void terminal_rows(const std::int32_t* states, std::int64_t batch, bool* out) const override;
  void log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const override;
  void encode_rows(const std::int32_t* states, std::int64_t batch, float* out) const override;
  void mode_id_rows(const std::int32_t* states, std::int64_t batch, std::int64_t* out) const override;
  std::int32_t forward_action_of(const std::int32_t* state, std::int32_t backward_action) const override;

 private:
  static constexpr int max_packed = max_length / 64;
  using Packed = std::array<std::uint64_t, max_packed>;

  Packed pack(const std::int32_t* words) const;
  int bit(const std::int32_t* words, int i) const;

  BitSequenceConfig config_;
  int slots_;            // L = n / k
  int words_;            // 2^k
  int packed_words_;     // ceil(n / 64)
  double distance_scale_;  // log R = -distance_scale * d
  std::vector<Packed> modes_;
  std::vector<std::int32_t> mode_words_;  // [num_modes, L]
};

}  // namespace subtb::gfn
