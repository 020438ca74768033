#pragma once
// The card games of RL4VLM's gym-cards as VLM tasks: RL4VLM's prompt texts (our
// wording of them), GFlowVLM's rewards, and experts whose answers carry a templated
// chain of thought.
#include <string>

#include "envs/cards/blackjack.h"
#include "envs/cards/experts.h"
#include "envs/cards/numberline.h"
#include "envs/cards/points.h"
#include "envs/vlm/task.h"

namespace subtb::vlm {

class NumberLineTask : public Task {
 public:
  // GFlowVLM's reward constant: R = c / (|target - current| + 1).
  static constexpr double reward_scale = 100.0;

  explicit NumberLineTask(cards::NumberLineConfig config = {}, std::string name = "numberline");

  std::string name() const override { return name_; }
  void reset(std::uint64_t seed) override { game_.reset(seed); }
  std::vector<std::string> actions() const override;
  TaskStep step(std::size_t index) override;
  bool success() const override { return game_.success(); }
  double gflownet_reward() const override;
  int default_max_steps() const override { return game_.config().max_steps; }
  void render(render::Canvas& image) const override { game_.render(image); }
  std::string state_text() const override { return std::to_string(game_.current()); }
  std::string description() const override;
  std::vector<AnswerField> answer_fields() const override;
  std::string action_placeholder() const override { return "\"-\" or \"+\""; }
  std::optional<ExpertAnswer> expert() override;

  const cards::NumberLine& game() const { return game_; }

 private:
  cards::NumberLine game_;
  std::string name_;
};

class BlackJackTask : public Task {
 public:
  enum class Expert { basic_strategy, stand_at_17 };
  // GFlowVLM's R = max(1e-10, (r + 1) * 10) needs the result r, which a hand stopped by
  // [DONE] before it is over does not have. The paper is silent; the choices:
  //   forfeit            the unfinished hand counts as lost, R = 1e-10 (the default). Ending
  //                      early is then never better than playing the hand out.
  //   stand_expectation  the exact expectation of R over the dealer's cards had the player
  //                      stood now (infinite deck). Ending then earns about what standing
  //                      does with none of its risk, and in practice GFlowNet fine-tuning
  //                      learns to answer [DONE] at once and never play (see
  //                      docs/results/gflowvlm/results.md).
  enum class EarlyStop { forfeit, stand_expectation };

  explicit BlackJackTask(Expert expert = Expert::basic_strategy, EarlyStop early_stop = EarlyStop::forfeit);

  std::string name() const override { return "blackjack"; }
  void reset(std::uint64_t seed) override { game_.reset(seed); }
  std::vector<std::string> actions() const override;
  TaskStep step(std::size_t index) override;
  bool success() const override { return game_.over() && game_.result() > 0; }
  // max(1e-10, (r + 1) * 10) for the result r; before the game ends, as EarlyStop says.
  double gflownet_reward() const override;
  int default_max_steps() const override { return 10; }
  void render(render::Canvas& image) const override { game_.render(image); }
  std::string state_text() const override;
  std::string description() const override;
  std::vector<AnswerField> answer_fields() const override;
  std::string action_placeholder() const override { return "\"stand\" or \"hit\""; }
  std::optional<ExpertAnswer> expert() override;

  const cards::BlackJack& game() const { return game_; }

 private:
  cards::BlackJack game_;
  Expert expert_;
  EarlyStop early_stop_;
};

// EZPoints and Points24 (cards::ezpoints_config(), cards::points24_config()).
class PointsTask : public Task {
 public:
  explicit PointsTask(cards::PointsConfig config);

  std::string name() const override { return game_.config().name; }
  void reset(std::uint64_t seed) override { game_.reset(seed); }
  std::vector<std::string> actions() const override { return game_.action_names(); }
  TaskStep step(std::size_t index) override;
  bool success() const override { return game_.success(); }
  // 20 when the formula is complete, uses every card and equals the target, else 1e-10
  // (BlackJack's transform of a win / loss).
  double gflownet_reward() const override;
  // Twice the formula length limit: room for the formula, "=", and refused numbers.
  int default_max_steps() const override { return 2 * game_.config().max_formula_length; }
  void render(render::Canvas& image) const override { game_.render(image); }
  std::string state_text() const override;
  std::string description() const override;
  std::vector<AnswerField> answer_fields() const override;
  std::string action_placeholder() const override { return "\"{number}\" or \"{operator}\""; }
  std::optional<ExpertAnswer> expert() override;

  const cards::PointsGame& game() const { return game_; }

 private:
  bool formula_solves() const;

  cards::PointsGame game_;
  cards::PointsExpert expert_;
};

}  // namespace subtb::vlm
