// Token-level log P_F of VLM steps (CoT-weighted sums per step), episode lengths and the
// [DONE] log-probabilities, against hand-computed values.
#include <cmath>
#include <limits>

#include "gflownet/vlm/step_log_probs.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

using testing::all_close;

constexpr double kInf = std::numeric_limits<double>::infinity();

// Two episodes, T = 6 generated tokens each:
//   row 0, step 0: CoT -1.0, CoT -0.5, action -0.2 -> -0.2 + 0.4 * (-1.5)  = -0.8
//          step 1: CoT -2.0, action -0.3            -> -0.3 + 0.4 * (-2.0)  = -1.1
//          then one padding position (log-prob -inf, step -1)
//   row 1, step 0: a separator in no mask (-5.0), action -0.7, action -0.1 -> -0.8
//          then three padding positions; it has one step, so its step 1 is 0.
struct Example {
  Tensor log_probs = from_vector<double>({-1.0, -0.5, -0.2, -2.0, -0.3, -kInf,  //
                                          -5.0, -0.7, -0.1, -kInf, -kInf, -kInf},
                                         Shape{2, 6});
  AnswerTokens answer{from_vector<int64_t>({0, 0, 0, 1, 1, -1, 0, 0, 0, -1, -1, -1}, Shape{2, 6}),
                      from_vector<bool>({0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0}, Shape{2, 6}),
                      from_vector<bool>({1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}, Shape{2, 6})};
};

TEST(GflowVlmStepLogProbs, CotWeightedSumsMatchHandComputedValues) {
  const Example ex;
  EXPECT_TRUE(all_close(step_log_pf(ex.log_probs, ex.answer, 2), {-0.8, -1.1, -0.8, 0.0}, 1e-12));
  // lambda_cot = 1: plain sums; lambda_cot = 0: the action alone, even with a -inf CoT token.
  EXPECT_TRUE(all_close(step_log_pf(ex.log_probs, ex.answer, 2, 1.0), {-1.7, -2.3, -0.8, 0.0}, 1e-12));
  Tensor with_inf_cot = from_vector<double>({-kInf, -0.5, -0.2, -2.0, -0.3, -kInf,  //
                                             -5.0, -0.7, -0.1, -kInf, -kInf, -kInf},
                                            Shape{2, 6});
  EXPECT_TRUE(all_close(step_log_pf(with_inf_cot, ex.answer, 2, 0.0), {-0.2, -0.3, -0.8, 0.0}, 1e-12));
  EXPECT_TRUE(all_close(step_log_pf(with_inf_cot, ex.answer, 2), {-kInf, -1.1, -0.8, 0.0}, 1e-12));
  // Padding to more steps than any episode has gives zero columns.
  EXPECT_TRUE(all_close(step_log_pf(ex.log_probs, ex.answer, 3), {-0.8, -1.1, 0.0, -0.8, 0.0, 0.0}, 1e-12));
}

TEST(GflowVlmStepLogProbs, EpisodeLengthsCountSteps) {
  const Example ex;
  const Tensor lengths = episode_lengths(ex.answer.step_index);
  EXPECT_EQ(lengths.to_vector<int64_t>(), (std::vector<int64_t>{2, 1}));
  const Tensor none = full({3, 4}, -1.0, DType::i64);
  EXPECT_EQ(episode_lengths(none).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0}));
}

TEST(GflowVlmStepLogProbs, GradientReachesOnlyCountedTokensWithTheirWeights) {
  const Example ex;
  Tensor lp = ex.log_probs.detach().requires_grad_();
  // d/d token of sum_steps (c_s * log P_F(step s)) = c_s * (1 for action, 0.4 for CoT, 0 otherwise).
  const Tensor c = from_vector<double>({1.0, 2.0, 3.0, 4.0}, Shape{2, 2});
  sum(step_log_pf(lp, ex.answer, 2) * c).backward();
  EXPECT_TRUE(all_close(lp.grad(), {0.4, 0.4, 1.0, 0.8, 2.0, 0.0, 0.0, 3.0, 3.0, 0.0, 0.0, 0.0}, 1e-12));

  const Tensor finite =
      from_vector<double>({-1.0, -0.5, -0.2, -2.0, -0.3, -0.9, -5.0, -0.7, -0.1, -1.0, -2.0, -3.0}, Shape{2, 6});
  EXPECT_TRUE(testing::gradcheck_ok(
      [&](const std::vector<Tensor>& x) { return square(step_log_pf(x[0], ex.answer, 2)); }, {finite}));
}

TEST(GflowVlmStepLogProbs, DoneLogProbsAreTemperedLogSoftmaxAtTheDoneToken) {
  // One episode, two states, V = 3, [DONE] = token 2, temperature 0.5:
  //   state 0 logits (1, 0, 0.5) / 0.5 = (2, 0, 1): log p(2) = 1 - log(e^2 + 1 + e)
  //   state 1 logits (0, 0, 0)           -> log(1/3)
  const Tensor logits = from_vector<double>({1.0, 0.0, 0.5, 0.0, 0.0, 0.0}, Shape{1, 2, 3});
  const double s0 = 1.0 - std::log(std::exp(2.0) + 1.0 + std::exp(1.0));
  EXPECT_TRUE(all_close(done_log_probs(logits, 0.5, 2), {s0, std::log(1.0 / 3.0)}, 1e-12));
  EXPECT_TRUE(
      testing::gradcheck_ok([](const std::vector<Tensor>& x) { return done_log_probs(x[0], 0.7, 1); }, {logits}));
}

TEST(GflowVlmStepLogProbs, RejectsInconsistentLayouts) {
  const Example ex;
  EXPECT_THROW_MSG(step_log_pf(ex.log_probs, ex.answer, 1), "step_log_pf", "step_index must lie in [-1, 1)");
  AnswerTokens overlap = ex.answer;
  overlap.cot_mask = ex.answer.action_mask;
  EXPECT_THROW_MSG(step_log_pf(ex.log_probs, overlap, 2), "both action_mask and cot_mask");
  AnswerTokens orphan = ex.answer;
  orphan.action_mask = from_vector<bool>({0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0}, Shape{2, 6});
  EXPECT_THROW_MSG(step_log_pf(ex.log_probs, orphan, 2), "has step_index -1");
  EXPECT_THROW_MSG(step_log_pf(ex.log_probs, ex.answer, 2, -0.1), "lambda_cot");
  EXPECT_THROW_MSG(step_log_pf(ex.log_probs.narrow(1, 0, 5), ex.answer, 2), "step_index must be i64");
  EXPECT_THROW_MSG(done_log_probs(zeros({1, 2, 3}, DType::f64), 1.0, 3), "done_log_probs", "outside the vocabulary");
  EXPECT_THROW_MSG(done_log_probs(zeros({1, 2, 3}, DType::f64), 0.0, 1), "temperature");
}

}  // namespace
}  // namespace subtb::gflownet::vlm
