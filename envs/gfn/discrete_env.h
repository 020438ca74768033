#pragma once
// DiscreteEnv: what every GFlowNet environment of envs/gfn offers a trainer that drives
// B trajectories at once.
//
// States are rows of state_dim() int32 values in one flat array, [B, state_dim]. Every
// batched call takes such an array and writes into buffers the caller owns ([B, A] masks,
// [B] log-rewards, [B, encoding_dim] floats); none allocates. step / backward_step update
// the rows in place, so a trainer that keeps the trajectory copies a row before stepping.
//
// A trajectory s_0 -> ... -> s_n ends in a *terminal* state. Where the environment has
// an exit action, the terminal state is the object with a "done" flag set: the exit is
// an ordinary step, its state has exactly one parent (so a uniform P_B gives it log P_B = 0,
// the convention of the objectives), and backward sampling starts from it like from any
// other terminal state. Environments without exit end when the object is complete.
//
// Actions are integers in [0, num_actions()); backward actions in [0, num_backward_actions()).
// The action no_action (-1) leaves its row untouched, for rows that are already terminal
// (forward) or back at s_0 (backward). Any other action the row's mask forbids throws,
// and then no row has moved.
//
// The exact side (enumeration of states, log Z) exists where the space allows it; the
// functions say so through num_terminal_states() >= 0 and throw otherwise.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace subtb::gfn {

// The parents of a batch of states, in CSR form: parents of row b are entries
// offsets[b] .. offsets[b + 1] - 1, each a parent state and the forward action that
// leads from it to row b. The vectors keep their capacity between calls.
struct ParentList {
  std::vector<std::int32_t> states;   // [P, state_dim]
  std::vector<std::int32_t> actions;  // [P]
  std::vector<std::int64_t> offsets;  // [B + 1]

  std::int64_t count(std::int64_t row) const { return offsets[row + 1] - offsets[row]; }
};

class DiscreteEnv {
 public:
  static constexpr std::int32_t no_action = -1;

  virtual ~DiscreteEnv() = default;

  virtual std::string name() const = 0;

  int state_dim() const { return dims_.state_dim; }
  int encoding_dim() const { return dims_.encoding_dim; }
  // Forward actions, the exit included where there is one.
  int num_actions() const { return dims_.num_actions; }
  int num_backward_actions() const { return dims_.num_backward_actions; }
  // The exit (stop) action, or -1 where the episode ends when the object is complete.
  int exit_action() const { return dims_.exit_action; }
  // The longest trajectory in steps, the exit step included: what padded buffers need.
  int max_trajectory_length() const { return dims_.max_trajectory_length; }

  // ---- batched dynamics; B = states.size() / state_dim()
  void reset(std::span<std::int32_t> states) const;
  // masks: [B, num_actions]; all false for terminal states.
  void forward_masks(std::span<const std::int32_t> states, std::span<bool> masks) const;
  void step(std::span<std::int32_t> states, std::span<const std::int32_t> actions) const;
  // masks: [B, num_backward_actions]; one true entry per parent, all false at s_0.
  void backward_masks(std::span<const std::int32_t> states, std::span<bool> masks) const;
  void backward_step(std::span<std::int32_t> states, std::span<const std::int32_t> actions) const;
  void is_terminal(std::span<const std::int32_t> states, std::span<bool> out) const;
  // log R(x) of terminal states; throws on a row that is not terminal.
  void log_reward(std::span<const std::int32_t> states, std::span<double> out) const;
  // A log-reward defined on every state that agrees with log_reward on terminal ones:
  // the intermediate rewards of forward-looking objectives, or log R(s) where every
  // state may terminate (modified DB). Throws where has_state_log_reward() is false.
  virtual bool has_state_log_reward() const { return false; }
  void state_log_reward(std::span<const std::int32_t> states, std::span<double> out) const;
  // The model's input: [B, encoding_dim] floats.
  void encode(std::span<const std::int32_t> states, std::span<float> out) const;
  // Parents of each state with the forward action from each (flow matching); the number
  // of parents is also the denominator of the uniform P_B.
  void parents(std::span<const std::int32_t> states, ParentList& out) const;
  // The backward action that undoes each forward step parent -> child ([B, state_dim]
  // each, `child` the result of stepping `parent` with actions[b]): what a learned P_B
  // is evaluated at. Rows with no_action give no_action; a row that is not such a step throws.
  void undo_actions(std::span<const std::int32_t> parents, std::span<const std::int32_t> children,
                    std::span<const std::int32_t> actions, std::span<std::int32_t> out) const;

  // ---- modes: num_modes() == 0 where the environment has no notion of them.
  virtual std::int64_t num_modes() const { return 0; }
  // Which mode each terminal state is (or lies within the env's threshold of), -1 if none.
  void mode_ids(std::span<const std::int32_t> states, std::span<std::int64_t> out) const;

  // ---- exact quantities over enumerable spaces
  // Terminal states are indexed densely in [0, num_terminal_states()); -1 means the space
  // is too large to index (or the environment does not enumerate it).
  virtual std::int64_t num_terminal_states() const { return -1; }
  virtual void terminal_state(std::int64_t index, std::int32_t* state) const;
  virtual std::int64_t terminal_index(const std::int32_t* state) const;
  // Non-terminal states likewise, numbered in a topological order: every non-terminal
  // child of a state has a larger index. These feed the exact terminal distribution of a
  // policy (exact.h).
  virtual std::int64_t num_nonterminal_states() const { return -1; }
  virtual void nonterminal_state(std::int64_t index, std::int32_t* state) const;
  virtual std::int64_t nonterminal_index(const std::int32_t* state) const;
  // log Z = log sum over terminal objects of R(x), by a closed form or a dynamic
  // program where the environment has one, else by enumeration (exact.h).
  virtual double log_partition() const;

 protected:
  struct Dims {
    int state_dim = 0;
    int encoding_dim = 0;
    int num_actions = 0;
    int num_backward_actions = 0;
    int exit_action = -1;
    int max_trajectory_length = 0;
  };
  explicit DiscreteEnv(Dims dims) : dims_(dims) {}

  // The per-batch kernels behind the public calls, which have checked the buffer sizes.
  virtual void reset_rows(std::int32_t* states, std::int64_t batch) const = 0;
  virtual void forward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const = 0;
  virtual void step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const = 0;
  virtual void backward_mask_rows(const std::int32_t* states, std::int64_t batch, bool* masks) const = 0;
  virtual void backward_step_rows(std::int32_t* states, const std::int32_t* actions, std::int64_t batch) const = 0;
  virtual void terminal_rows(const std::int32_t* states, std::int64_t batch, bool* out) const = 0;
  virtual void log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const = 0;
  virtual void state_log_reward_rows(const std::int32_t* states, std::int64_t batch, double* out) const;
  virtual void encode_rows(const std::int32_t* states, std::int64_t batch, float* out) const = 0;
  virtual void mode_id_rows(const std::int32_t* states, std::int64_t batch, std::int64_t* out) const;
  // The forward action that undoes backward action `backward_action` from `state`,
  // i.e. leads from the parent back to `state`. Parent enumeration is built on it.
  virtual std::int32_t forward_action_of(const std::int32_t* state, std::int32_t backward_action) const = 0;

  // Throws naming the environment, the call, the row and the action.
  [[noreturn]] void invalid_action(const char* call, std::int64_t row, std::int32_t action) const;

 private:
  std::int64_t rows_of(const char* call, std::size_t state_values) const;
  Dims dims_;
};

}  // namespace subtb::gfn
