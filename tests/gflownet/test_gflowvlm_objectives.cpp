// GFlowVLM's objectives on the [DONE] construction. Oracle: a small tree of history
// states where every state may stop, with exact flows F(s) = R(s) + sum of the children's
// flows, P_F(c | s) = F(c) / F(s) and P_F([DONE] | s) = R(s) / F(s). Splitting each step's
// log P_F into CoT and action tokens, every objective must vanish (and its gradient too);
// perturbing one token or one [DONE] probability must make each positive. Plus hand-worked
// values, fused == composite SubTB, gradchecks and error messages.
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "gflownet/vlm/objectives.h"
#include "gflownet/vlm/step_log_probs.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

using testing::all_close;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kSteps = 2;          // S: the tree's depth
constexpr int64_t kTokensPerStep = 4;  // 2 CoT tokens, then 2 action tokens

// A binary tree of depth 2: node 0 is s_0, nodes 1-2 its children, 3-6 theirs. The
// leaves may only stop. `scale` multiplies every reward (a second task with another Z).
struct Tree {
  double R[7];
  double F[7];
  explicit Tree(double scale = 1.0) {
    const double base[7] = {1.0, 2.0, 0.5, 4.0, 1.0, 3.0, 0.25};
    for (int s = 0; s < 7; ++s) R[s] = base[s] * scale;
    for (int s = 6; s >= 0; --s) F[s] = R[s] + (s < 3 ? F[2 * s + 1] + F[2 * s + 2] : 0.0);
  }
  // Every episode: the path from the root to each node, which then stops there.
  static std::vector<std::vector<int>> paths() {
    std::vector<std::vector<int>> out;
    for (int s = 0; s < 7; ++s) {
      std::vector<int> p{s};
      while (p.front() != 0) p.insert(p.begin(), (p.front() - 1) / 2);
      out.push_back(p);
    }
    return out;
  }
};

// The tree's episodes as the objectives take them, with the per-token log-probs behind log_pf.
struct TreeBatch {
  std::vector<double> token_lp, log_done, log_reward;
  std::vector<int64_t> step_index, lengths;
  std::vector<bool> action, cot;
  int64_t B = 0, T = kSteps * kTokensPerStep;

  void add_tree(const Tree& tree) {
    for (const std::vector<int>& path : Tree::paths()) {
      const int64_t n = static_cast<int64_t>(path.size()) - 1;
      for (int64_t t = 0; t < kSteps; ++t) {
        const bool in = t < n;
        // The CoT tokens get arbitrary log-probs; the two action tokens share what is left
        // so that action + 0.4 * CoT = log F(s_{t+1}) - log F(s_t).
        const double cot1 = -0.3 * static_cast<double>(t + 1), cot2 = -0.7;
        const double step = in ? std::log(tree.F[path[t + 1]] / tree.F[path[t]]) : 0.0;
        const double action_total = step - 0.4 * (cot1 + cot2);
        for (double v : {cot1, cot2, 0.25 * action_total, 0.75 * action_total}) token_lp.push_back(in ? v : kNaN);
        for (int k = 0; k < kTokensPerStep; ++k) {
          step_index.push_back(in ? t : -1);
          cot.push_back(in && k < 2);
          action.push_back(in && k >= 2);
        }
      }
      for (int64_t t = 0; t <= kSteps; ++t) {
        const bool in = t <= n;
        log_done.push_back(in ? std::log(tree.R[path[t]] / tree.F[path[t]]) : kNaN);
        log_reward.push_back(in ? std::log(tree.R[path[t]]) : kNaN);
      }
      lengths.push_back(n);
      ++B;
    }
  }

  Tensor tokens() const { return from_vector<double>(token_lp, Shape{B, T}); }
  Tensor done() const { return from_vector<double>(log_done, Shape{B, kSteps + 1}); }
  AnswerTokens answer() const {
    return {from_vector<int64_t>(step_index, Shape{B, T}), from_vector<bool>(action, Shape{B, T}),
            from_vector<bool>(cot, Shape{B, T})};
  }
  EpisodeBatch episodes(const Tensor& tokens, const Tensor& done) const {
    return {step_log_pf(tokens, answer(), kSteps), done, from_vector<double>(log_reward, Shape{B, kSteps + 1}),
            from_vector<int64_t>(lengths)};
  }
};

const SubTBWeighting kWeightings[] = {SubTBWeighting::geometric_within, SubTBWeighting::equal_within,
                                      SubTBWeighting::equal, SubTBWeighting::tb, SubTBWeighting::db};

std::map<std::string, Tensor> all_losses(const EpisodeBatch& e, double log_z) {
  std::map<std::string, Tensor> out;
  out["var_tb"] = var_tb_loss(e);
  out["tb"] = tb_loss(e, scalar_tensor(log_z, DType::f64));
  out["db"] = db_loss(e);
  for (SubTBWeighting w : kWeightings) out["subtb_" + std::string(to_string(w))] = subtb_loss(e, {0.9, w});
  return out;
}

TEST(GflowVlmObjectives, ExactDoneFlowsGiveZeroLossAndZeroGradient) {
  const Tree tree;
  TreeBatch b;
  b.add_tree(tree);
  for (const auto& [name, loss_value] : all_losses(b.episodes(b.tokens(), b.done()), std::log(tree.F[0]))) {
    SCOPED_TRACE(name);
    EXPECT_NEAR(loss_value.item(), 0.0, 1e-12);
  }
  Tensor tokens = b.tokens().requires_grad_();
  Tensor done = b.done().requires_grad_();
  (subtb_loss(b.episodes(tokens, done)) + db_loss(b.episodes(tokens, done)) + var_tb_loss(b.episodes(tokens, done)))
      .backward();
  for (double g : testing::values(tokens.grad())) EXPECT_NEAR(g, 0.0, 1e-12);
  for (double g : testing::values(done.grad())) EXPECT_NEAR(g, 0.0, 1e-12);
}

TEST(GflowVlmObjectives, PerturbedTokenOrDoneProbabilityGivesPositiveLoss) {
  const Tree tree;
  TreeBatch b;
  b.add_tree(tree);
  // Episode 3 is s_0 -> node 1 -> node 3; raise one of its action tokens' log-probs.
  std::vector<double> tokens = b.token_lp;
  tokens[static_cast<size_t>(3 * b.T + kTokensPerStep + 2)] += 0.1;
  for (const auto& [name, l] :
       all_losses(b.episodes(from_vector<double>(tokens, Shape{b.B, b.T}), b.done()), std::log(tree.F[0]))) {
    SCOPED_TRACE(name);
    EXPECT_GT(l.item(), 1e-6);
  }
  // The [DONE] probability of node 1, seen by episodes 1 (which stops there), 3 and 4.
  std::vector<double> done = b.log_done;
  for (int64_t row : {1, 3, 4}) done[static_cast<size_t>(row * (kSteps + 1) + 1)] -= 0.2;
  const EpisodeBatch e = b.episodes(b.tokens(), from_vector<double>(done, Shape{b.B, kSteps + 1}));
  EXPECT_GT(subtb_loss(e).item(), 1e-6);
  EXPECT_GT(db_loss(e).item(), 1e-6);
  EXPECT_GT(var_tb_loss(e).item(), 1e-6);  // episode 1 stops at node 1
}

TEST(GflowVlmObjectives, VarTbGroupsEpisodesByTask) {
  TreeBatch b;
  b.add_tree(Tree(1.0));
  b.add_tree(Tree(3.0));  // log Z larger by log 3
  const EpisodeBatch e = b.episodes(b.tokens(), b.done());
  std::vector<int64_t> task(static_cast<size_t>(b.B), 0);
  for (size_t i = 7; i < task.size(); ++i) task[i] = 5;
  EXPECT_NEAR(var_tb_loss(e, from_vector<int64_t>(task)).item(), 0.0, 1e-12);
  // One group: half the zetas are log 3 above the others, so the variance is (log 3 / 2)^2.
  EXPECT_NEAR(var_tb_loss(e).item(), std::pow(std::log(3.0) / 2, 2), 1e-12);
}

// Three episodes, S = 1 (NaN marks entries past an episode's end, never read):
//   log_pf = [[-1], [-2], [NaN]], lengths = [1, 1, 0]
//   log_done = [[-0.5, -0.1], [-0.2, -0.3], [-0.4, NaN]]
//   log_reward = [[0, 1], [0, 2], [0.5, NaN]]
EpisodeBatch hand_batch() {
  return {from_vector<double>({-1.0, -2.0, kNaN}, Shape{3, 1}),
          from_vector<double>({-0.5, -0.1, -0.2, -0.3, -0.4, kNaN}, Shape{3, 2}),
          from_vector<double>({0.0, 1.0, 0.0, 2.0, 0.5, kNaN}, Shape{3, 2}), from_vector<int64_t>({1, 1, 0})};
}

TEST(GflowVlmObjectives, VarTbAndTbMatchTheFormulasByHand) {
  const EpisodeBatch e = hand_batch();
  // zeta = log R(x) - sum log P_F - log P_F([DONE] | s_n):
  //   zeta_0 = 1 - (-1 - 0.1) = 2.1, zeta_1 = 2 - (-2 - 0.3) = 4.3, zeta_2 = 0.5 - (-0.4) = 0.9;
  //   mean 7.3 / 3, loss = mean of squared deviations.
  const double m = 7.3 / 3;
  const double var = (std::pow(2.1 - m, 2) + std::pow(4.3 - m, 2) + std::pow(0.9 - m, 2)) / 3;
  EXPECT_NEAR(var_tb_loss(e).item(), var, 1e-12);
  // Groups {0, 0, 1}: group 0 has mean 3.2 and deviations -1.1, 1.1; episode 2 is alone.
  EXPECT_NEAR(var_tb_loss(e, from_vector<int64_t>({0, 0, 1})).item(), (1.21 + 1.21 + 0.0) / 3, 1e-12);
  // TB with log Z = 0.5: d = log Z - zeta = -1.6, -3.8, -0.4; mean d^2 = 17.16 / 3.
  EXPECT_NEAR(tb_loss(e, scalar_tensor(0.5, DType::f64)).item(), 17.16 / 3, 1e-12);
}

TEST(GflowVlmObjectives, SubTbAndDbMatchTheResidualsByHand) {
  const EpisodeBatch e = hand_batch();
  // log F(s_t) = log R - log P_F([DONE] | s_t): episode 0: F_0 = 0.5, F_1 = 1.1, d = 0.5 - 1 - 1.1 = -1.6;
  // episode 1: F_0 = 0.2, F_1 = 2.3, d = 0.2 - 2 - 2.3 = -4.1; episode 2 has no step.
  // One residual per episode, so every weighting gives the mean over episodes with steps.
  const double expected = (1.6 * 1.6 + 4.1 * 4.1) / 2;
  EXPECT_NEAR(db_loss(e).item(), expected, 1e-12);
  for (SubTBWeighting w : kWeightings) EXPECT_NEAR(subtb_loss(e, {0.9, w}).item(), expected, 1e-12);
  EXPECT_TRUE(all_close(done_log_flows(e).narrow(0, 0, 2), {0.5, 1.1, 0.2, 2.3}, 1e-12));
  EXPECT_TRUE(all_close(log_pf_with_exit(e).narrow(0, 0, 2), {-1.0, -0.1, -2.0, -0.3}, 1e-12));
  EXPECT_TRUE(all_close(terminal_log_reward(e), {1.0, 2.0, 0.5}, 1e-12));
}

TEST(GflowVlmObjectives, FusedSubTbAgreesWithTheCompositeAndDbWithItsWeighting) {
  const testing::DeviceDType cpu64{kCPU, DType::f64};
  const Tensor log_pf = testing::random_input({4, 5}, cpu64, 1, 1.0, -1.0);
  const Tensor log_done = testing::random_input({4, 6}, cpu64, 2, 1.0, -1.5);
  const Tensor log_reward = testing::random_input({4, 6}, cpu64, 3, 1.0, 1.0);
  const EpisodeBatch e{log_pf, log_done, log_reward, from_vector<int64_t>({5, 3, 0, 1})};
  for (SubTBWeighting w : kWeightings) {
    SCOPED_TRACE(std::string(to_string(w)));
    const Tensor composite =
        subtb_loss_composite(log_pf, zeros_like(log_pf), log_reward - log_done, e.lengths, {0.8, w});
    EXPECT_NEAR(subtb_loss(e, {0.8, w}).item(), composite.item(), 1e-10);
  }
  EXPECT_NEAR(db_loss(e).item(), subtb_loss(e, {0.9, SubTBWeighting::db}).item(), 1e-10);
}

TEST(GflowVlmObjectives, GradientsFlowToTokenLogProbsAndDoneLogProbs) {
  TreeBatch b;
  b.add_tree(Tree(1.0));
  // Perturbed finite inputs: NaN padding would make finite differences meaningless.
  std::vector<double> tokens = b.token_lp, done = b.log_done;
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = std::isnan(tokens[i]) ? -1.0 : tokens[i] + 0.05 * (i % 3);
  for (size_t i = 0; i < done.size(); ++i) done[i] = std::isnan(done[i]) ? -2.0 : done[i] - 0.03 * (i % 4);
  const Tensor t = from_vector<double>(tokens, Shape{b.B, b.T});
  const Tensor d = from_vector<double>(done, Shape{b.B, kSteps + 1});
  EXPECT_TRUE(
      testing::gradcheck_ok([&](const std::vector<Tensor>& x) { return subtb_loss(b.episodes(x[0], x[1])); }, {t, d}));
  EXPECT_TRUE(
      testing::gradcheck_ok([&](const std::vector<Tensor>& x) { return db_loss(b.episodes(x[0], x[1])); }, {t, d}));
  EXPECT_TRUE(
      testing::gradcheck_ok([&](const std::vector<Tensor>& x) { return var_tb_loss(b.episodes(x[0], x[1])); }, {t, d}));
  EXPECT_TRUE(testing::gradcheck_ok([&](const std::vector<Tensor>& x) { return tb_loss(b.episodes(x[0], x[1]), x[2]); },
                                    {t, d, scalar_tensor(1.0, DType::f64)}));
}

// The hand-worked batch on every device and floating dtype, against the f64 values.
class GflowVlmObjectivesOnDevice : public ::testing::TestWithParam<testing::DeviceDType> {};

TEST_P(GflowVlmObjectivesOnDevice, MatchTheHandWorkedValues) {
  const testing::DeviceDType p = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(p.device);
  const EpisodeBatch cpu = hand_batch();
  const EpisodeBatch e{testing::make(testing::values(cpu.log_pf), {3, 1}, p),
                       testing::make(testing::values(cpu.log_done), {3, 2}, p),
                       testing::make(testing::values(cpu.log_reward), {3, 2}, p), cpu.lengths.to(p.device)};
  const double tol = testing::tolerance(p.dtype) * 10;  // losses of magnitude ~10
  const double m = 7.3 / 3;
  const double var = (std::pow(2.1 - m, 2) + std::pow(4.3 - m, 2) + std::pow(0.9 - m, 2)) / 3;
  EXPECT_NEAR(var_tb_loss(e).item(), var, tol);
  EXPECT_NEAR(var_tb_loss(e, from_vector<int64_t>({0, 0, 1}, p.device)).item(), 2.42 / 3, tol);
  EXPECT_NEAR(tb_loss(e, testing::make({0.5}, {}, p)).item(), 17.16 / 3, tol);
  EXPECT_NEAR(subtb_loss(e).item(), (1.6 * 1.6 + 4.1 * 4.1) / 2, tol);
  EXPECT_NEAR(db_loss(e).item(), (1.6 * 1.6 + 4.1 * 4.1) / 2, tol);
}

INSTANTIATE_TEST_SUITE_P(DevicesAndDtypes, GflowVlmObjectivesOnDevice, ::testing::ValuesIn(testing::float_params()),
                         testing::param_name);

TEST(GflowVlmObjectives, NamesAndErrors) {
  for (Objective o : {Objective::var_tb, Objective::tb, Objective::subtb, Objective::db})
    EXPECT_EQ(parse_objective(to_string(o)), o);
  EXPECT_EQ(parse_objective("vartb"), Objective::var_tb);
  EXPECT_THROW_MSG(parse_objective("ppo"), "unknown name 'ppo'", "var_tb, tb, subtb or db");

  EpisodeBatch e = hand_batch();
  e.lengths = from_vector<int64_t>({1, 2, 0});
  EXPECT_THROW_MSG(subtb_loss(e), "subtb_loss", "lengths must lie in [0, 1]");
  e = hand_batch();
  e.log_done = e.log_done.narrow(1, 0, 1);
  EXPECT_THROW_MSG(db_loss(e), "db_loss", "log_done must be [B, S + 1]");
  EXPECT_THROW_MSG(var_tb_loss(hand_batch(), from_vector<int64_t>({0, 1})), "var_tb_loss", "group must be i64[3]");
}

}  // namespace
}  // namespace subtb::gflownet::vlm
