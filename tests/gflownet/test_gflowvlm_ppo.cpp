// The PPO baseline's pieces (GAE, the clipped surrogate, the value loss, the value head)
// against values worked out by hand.
#include <cmath>

#include "gflownet/vlm/ppo.h"
#include "gflownet/vlm/value_head.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

using testing::all_close;

TEST(GflowVlmPpo, GaeMatchesTheRecursionByHand) {
  // gamma 0.9, lambda 0.95 (gamma * lambda = 0.855).
  // Env 0: r = (1, 0, 2), V = (0.5, 1.0, 1.5), done = (no, yes, no), V after the last step 2.0.
  //   t = 2: delta = 2 + 0.9 * 2.0 - 1.5 = 2.3                 A = 2.3,   R = 3.8
  //   t = 1: done, so no bootstrap: delta = 0 - 1.0 = -1.0      A = -1.0,  R = 0.0
  //   t = 0: delta = 1 + 0.9 * 1.0 - 0.5 = 1.4; A = 1.4 + 0.855 * (-1.0) = 0.545, R = 1.045
  // Env 1: r = 0, V = 0, never done, V after the last step 1.0.
  //   A_2 = 0.9, A_1 = 0.855 * 0.9 = 0.7695, A_0 = 0.855 * 0.7695 = 0.6579225 (R = A).
  const Tensor rewards = from_vector<double>({1, 0, 2, 0, 0, 0}, Shape{2, 3});
  const Tensor values = from_vector<double>({0.5, 1.0, 1.5, 0, 0, 0}, Shape{2, 3});
  const Tensor dones = from_vector<bool>({0, 1, 0, 0, 0, 0}, Shape{2, 3});
  const Advantages a = generalized_advantages(rewards, values, dones, from_vector<double>({2.0, 1.0}));
  EXPECT_TRUE(all_close(a.advantages, {0.545, -1.0, 2.3, 0.6579225, 0.7695, 0.9}, 1e-12));
  EXPECT_TRUE(all_close(a.returns, {1.045, 0.0, 3.8, 0.6579225, 0.7695, 0.9}, 1e-12));
  EXPECT_FALSE(a.advantages.requires_grad());

  // lambda = 0 is the one-step TD error; gamma = 0 the reward minus the value.
  const Advantages td = generalized_advantages(rewards, values, dones, from_vector<double>({2.0, 1.0}), {0.9, 0.0});
  EXPECT_TRUE(all_close(td.advantages, {1.4, -1.0, 2.3, 0.0, 0.0, 0.9}, 1e-12));
  EXPECT_THROW_MSG(generalized_advantages(rewards, values, dones, from_vector<double>({2.0})), "generalized_advantages",
                   "next_values must be [2]");
  EXPECT_THROW_MSG(generalized_advantages(rewards, values, rewards, from_vector<double>({2.0, 1.0})),
                   "dones must be bool");
}

TEST(GflowVlmPpo, NormalizedAdvantagesHaveZeroMeanAndUnitStd) {
  const Tensor n = normalize_advantages(from_vector<double>({1.0, 2.0, 3.0}), 1e-5);
  EXPECT_TRUE(all_close(n, {-1.0 / (1 + 1e-5), 0.0, 1.0 / (1 + 1e-5)}, 1e-12));
}

TEST(GflowVlmPpo, ClippedSurrogateMatchesByHand) {
  // clip 0.1; ratios rho and advantages A; each term is min(rho A, clip(rho, 0.9, 1.1) A):
  //   rho 1.2,  A  1: min(1.2, 1.1)     =  1.1  (clipped: no gradient)
  //   rho 0.8,  A  1: min(0.8, 0.9)     =  0.8  (unclipped: gradient rho A)
  //   rho 1.05, A -1: min(-1.05, -1.05) = -1.05 (inside the range: gradient rho A)
  //   rho 0.8,  A -2: min(-1.6, -1.8)   = -1.8  (clipped: no gradient)
  // loss = -(1.1 + 0.8 - 1.05 - 1.8) / 4 = 0.2375; d loss / d log_prob_i = -rho_i A_i / 4 where unclipped.
  const Tensor old_lp = from_vector<double>({-1.0, -2.0, -0.5, -3.0});
  const Tensor log_ratio = from_vector<double>({std::log(1.2), std::log(0.8), std::log(1.05), std::log(0.8)});
  Tensor lp = (old_lp + log_ratio).detach().requires_grad_();
  const Tensor adv = from_vector<double>({1.0, 1.0, -1.0, -2.0});
  const Tensor loss = ppo_policy_loss(lp, old_lp, adv, 0.1);
  EXPECT_NEAR(loss.item(), 0.2375, 1e-12);
  loss.backward();
  EXPECT_TRUE(all_close(lp.grad(), {0.0, -0.2, 0.2625, 0.0}, 1e-12));

  const PpoLoss full_loss =
      ppo_loss(lp, old_lp, adv, from_vector<double>({1.0, 2.0, 0.0, 0.0}), from_vector<double>({1.0, 2.0, 0.0, 0.0}),
               from_vector<double>({1.5, 1.0, 0.0, 0.0}));
  // value: 0.5 * mean(0.25, 1, 0, 0) = 0.15625; total = 0.2375 + 0.5 * 0.15625.
  EXPECT_NEAR(full_loss.value.item(), 0.15625, 1e-12);
  EXPECT_NEAR(full_loss.total.item(), 0.2375 + 0.078125, 1e-12);
  EXPECT_NEAR(full_loss.clip_fraction.item(), 0.75, 1e-12);
  EXPECT_NEAR(full_loss.approx_kl.item(), -(std::log(1.2) + 2 * std::log(0.8) + std::log(1.05)) / 4, 1e-12);
  EXPECT_THROW_MSG(ppo_policy_loss(lp, old_lp, adv, 1.5), "clip must lie in (0, 1)");
  EXPECT_THROW_MSG(ppo_policy_loss(lp, old_lp.narrow(0, 0, 3), adv), "ppo_policy_loss", "old_log_prob must be [4]");
}

TEST(GflowVlmPpo, ValueLossPlainAndClippedMatchByHand) {
  // V = (1, 2), R = (1.5, 1), V_old = (0.8, 2.5).
  // Plain: 0.5 * mean(0.25, 1) = 0.3125.
  // Clipped at 0.2: V_old + clip(V - V_old) = (1.0, 2.3): squares (0.25, 1.69);
  //   max with the plain ones: (0.25, 1.69); 0.5 * mean = 0.485.
  const Tensor v = from_vector<double>({1.0, 2.0}), ret = from_vector<double>({1.5, 1.0}),
               old = from_vector<double>({0.8, 2.5});
  EXPECT_NEAR(ppo_value_loss(v, old, ret).item(), 0.3125, 1e-12);
  EXPECT_NEAR(ppo_value_loss(v, old, ret, 0.2).item(), 0.485, 1e-12);
  EXPECT_TRUE(testing::gradcheck_ok([&](const std::vector<Tensor>& x) { return ppo_value_loss(x[0], old, ret, 0.2); },
                                    {from_vector<double>({1.05, 2.1})}));
}

TEST(GflowVlmPpo, ValueHeadIsALinearMapToAScalar) {
  ValueHead head(4, {DType::f64});
  const auto named = head.named_parameters();
  ASSERT_EQ(named.size(), 2u);
  EXPECT_EQ(named[0].first, "proj.weight");
  EXPECT_EQ(named[1].first, "proj.bias");
  const Tensor hidden = testing::random_input({2, 3, 4}, {kCPU, DType::f64}, 7);
  const Tensor v = head.forward(hidden);
  ASSERT_EQ(v.shape(), (Shape{2, 3}));
  const Tensor expected = sum(hidden * head.proj->weight.reshape({1, 1, 4}), {2}) + head.proj->bias;
  EXPECT_TRUE(all_close(v, expected, 1e-12));
  EXPECT_THROW_MSG(head.forward(zeros({2, 5}, DType::f64)), "ValueHead", "[..., 4]");
}

}  // namespace
}  // namespace subtb::gflownet::vlm
