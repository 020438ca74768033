// Sampling and evaluation on small HyperGrids, against values computed by hand from the
// grid's geometry: a policy whose weights are all zero is uniform over the valid actions.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/grad_mode.h"
#include "envs/gfn/hypergrid.h"
#include "gflownet/sampler.h"
#include "tensor/ops.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

using gfn::HyperGrid;

Policy make_policy(const gfn::DiscreteEnv& env, BackwardPolicy pb, uint64_t seed) {
  Generator gen(seed);
  return Policy({env.encoding_dim(), env.num_actions(), env.num_backward_actions(), 16, 2, pb}, gen);
}

void zero_weights(Policy& policy) {
  NoGradGuard no_grad;
  for (Tensor p : policy.parameters()) p.zero_();
}

// Valid forward actions of a non-terminal grid point: the coordinates below H - 1, and exit.
int valid_actions(const std::int32_t* s, int dim, int height) {
  int n = 1;
  for (int d = 0; d < dim; ++d) n += s[d] < height - 1;
  return n;
}

// Parents of a non-terminal grid point: the coordinates above 0.
int grid_parents(const std::int32_t* s, int dim) {
  int n = 0;
  for (int d = 0; d < dim; ++d) n += s[d] > 0;
  return n;
}

class SamplerTest : public ::testing::TestWithParam<BackwardPolicy> {};

TEST_P(SamplerTest, ZeroWeightPolicyGivesUniformLogProbabilities) {
  const int dim = 2, height = 4;
  const HyperGrid env({dim, height, 0.1});
  Policy policy = make_policy(env, GetParam(), 1);
  zero_weights(policy);
  Generator gen(7);
  const SampledTrajectories samples = sample_trajectories(env, policy, 64, {}, gen);
  const TrajectoryBatch batch = evaluate_trajectories(env, policy, samples);
  const int64_t B = samples.batch, L = samples.max_length;
  ASSERT_EQ(batch.log_pf.shape(), Shape({B, L}));
  ASSERT_EQ(batch.log_flow.shape(), Shape({B, L + 1}));
  const std::vector<double> log_pf = testing::values(batch.log_pf), log_pb = testing::values(batch.log_pb);
  const std::vector<double> log_flow = testing::values(batch.log_flow_with_terminal_reward());
  for (int64_t b = 0; b < B; ++b) {
    const int64_t n = samples.lengths[b];
    ASSERT_GE(n, 1);
    for (int64_t t = 0; t < n; ++t) {
      const std::int32_t* s = samples.state(b, t);
      const std::int32_t* next = samples.state(b, t + 1);
      const bool exit = t == n - 1;
      EXPECT_EQ(samples.actions[b * L + t] == dim, exit) << "row " << b << " step " << t;
      EXPECT_NEAR(log_pf[b * L + t], -std::log(valid_actions(s, dim, height)), 1e-6);
      const double expected_pb = exit ? 0.0 : -std::log(grid_parents(next, dim));
      EXPECT_NEAR(log_pb[b * L + t], expected_pb, 1e-6) << "row " << b << " step " << t;
      EXPECT_EQ(log_flow[b * (L + 1) + t], 0.0);  // zero weights: log F = 0
    }
    EXPECT_NEAR(log_flow[b * (L + 1) + n], samples.log_rewards[b], 1e-6);
  }
}

TEST_P(SamplerTest, PaddingAndTerminalRowsStayFinite) {
  const HyperGrid env({3, 3, 0.1});
  Policy policy = make_policy(env, GetParam(), 2);
  Generator gen(3);
  const SampledTrajectories samples = sample_trajectories(env, policy, 32, {}, gen);
  const TrajectoryBatch batch = evaluate_trajectories(env, policy, samples);
  for (const Tensor* t : {&batch.log_pf, &batch.log_pb, &batch.log_flow}) {
    EXPECT_TRUE(all(isfinite(*t)).item()) << t->to_string();
  }
  // The loss's gradients reach the parameters without NaN through the padded entries.
  Tensor loss = sum(batch.log_pf) + sum(batch.log_flow) +
                (GetParam() == BackwardPolicy::learned ? sum(batch.log_pb) : scalar_tensor(0.0));
  loss.backward();
  for (const Tensor& p : policy.network_parameters()) EXPECT_TRUE(all(isfinite(p.grad())).item());
}

INSTANTIATE_TEST_SUITE_P(BackwardPolicies, SamplerTest,
                         ::testing::Values(BackwardPolicy::uniform, BackwardPolicy::learned),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(Sampler, LearnedBackwardHeadIsReadAtTheChildForTheUndoingAction) {
  const int dim = 2, height = 5;
  const HyperGrid env({dim, height, 0.1});
  Policy policy = make_policy(env, BackwardPolicy::learned, 4);
  Generator gen(5);
  const SampledTrajectories samples = sample_trajectories(env, policy, 16, {}, gen);
  const TrajectoryBatch batch = evaluate_trajectories(env, policy, samples);
  const int64_t L = samples.max_length;
  const std::vector<double> log_pb = testing::values(batch.log_pb);
  NoGradGuard no_grad;
  for (int64_t b = 0; b < samples.batch; ++b) {
    for (int64_t t = 0; t < samples.lengths[b]; ++t) {
      const std::int32_t* child = samples.state(b, t + 1);
      std::vector<float> enc(static_cast<size_t>(env.encoding_dim()));
      env.encode({child, static_cast<size_t>(env.state_dim())}, enc);
      const std::vector<float> logits = policy.forward(from_vector<float>(enc, Shape{1, env.encoding_dim()}))
                                            .backward_logits.contiguous()
                                            .to_vector<float>();
      // Hand-computed: the log-softmax over the child's parents (decrements of positive
      // coordinates, or the exit alone at a terminal state) at the action the step undoes.
      const std::int32_t a = samples.actions[b * L + t];
      std::vector<int> parents;
      if (child[dim] != 0) {
        parents = {dim};
      } else {
        for (int d = 0; d < dim; ++d)
          if (child[d] > 0) parents.push_back(d);
      }
      double lse = 0;
      for (int p : parents) lse += std::exp(static_cast<double>(logits[p]));
      EXPECT_NEAR(log_pb[b * L + t], logits[a] - std::log(lse), 1e-5) << "row " << b << " step " << t;
    }
  }
}

TEST(Sampler, NeverDrawsAMaskedActionAndStatesFollowTheActions) {
  const int dim = 3, height = 4;
  const HyperGrid env({dim, height, 0.1});
  Policy policy = make_policy(env, BackwardPolicy::uniform, 6);
  Generator gen(11);
  for (double epsilon : {0.0, 0.5, 1.0}) {
    const SampledTrajectories samples = sample_trajectories(env, policy, 512, {epsilon, 0.7}, gen);
    const int64_t L = samples.max_length;
    EXPECT_LE(L, env.max_trajectory_length());
    for (int64_t b = 0; b < samples.batch; ++b) {
      const int64_t n = samples.lengths[b];
      for (int64_t t = 0; t < n; ++t) {
        const std::int32_t* s = samples.state(b, t);
        const std::int32_t* next = samples.state(b, t + 1);
        const std::int32_t a = samples.actions[b * L + t];
        ASSERT_EQ(s[dim], 0) << "a step from a terminal state";
        ASSERT_TRUE(a >= 0 && a <= dim) << a;
        if (a < dim) {
          ASSERT_LT(s[a], height - 1) << "increment past the edge";
          for (int d = 0; d <= dim; ++d) ASSERT_EQ(next[d], s[d] + (d == a));
        } else {
          ASSERT_EQ(t, n - 1) << "the exit ends the trajectory";
          for (int d = 0; d < dim; ++d) ASSERT_EQ(next[d], s[d]);
          ASSERT_EQ(next[dim], 1);
        }
      }
      for (int64_t t = n; t < L; ++t) EXPECT_EQ(samples.actions[b * L + t], gfn::DiscreteEnv::no_action);
    }
  }
}

TEST(Sampler, SameSeedSameTrajectories) {
  const HyperGrid env({2, 6, 0.1});
  Policy policy = make_policy(env, BackwardPolicy::uniform, 8);
  Generator g1(21), g2(21), g3(22);
  const SampledTrajectories a = sample_trajectories(env, policy, 64, {0.1, 1.0}, g1);
  const SampledTrajectories b = sample_trajectories(env, policy, 64, {0.1, 1.0}, g2);
  const SampledTrajectories c = sample_trajectories(env, policy, 64, {0.1, 1.0}, g3);
  EXPECT_EQ(a.states, b.states);
  EXPECT_EQ(a.actions, b.actions);
  EXPECT_NE(a.actions, c.actions);
}

TEST(Sampler, RejectsBadOptions) {
  const HyperGrid env({2, 4, 0.1});
  Policy policy = make_policy(env, BackwardPolicy::uniform, 9);
  Generator gen(0);
  EXPECT_THROW_MSG(sample_trajectories(env, policy, 4, {1.5, 1.0}, gen), "sample_trajectories", "epsilon");
  EXPECT_THROW_MSG(sample_trajectories(env, policy, 0, {}, gen), "sample_trajectories", "batch");
}

TEST(Sampler, MaskedLogSoftmaxNormalisesOverAllowedEntriesAndKeepsEmptyRowsFinite) {
  const Tensor logits = from_vector<float>({1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const std::vector<bool> m = {true, false, true, false, false, false};
  const bool mask_data[6] = {m[0], m[1], m[2], m[3], m[4], m[5]};
  const Tensor out = masked_log_softmax(logits, from_buffer(mask_data, {2, 3}, DType::b8));
  const double lse0 = std::log(std::exp(1.0) + std::exp(3.0));
  const double lse1 = std::log(std::exp(4.0) + std::exp(5.0) + std::exp(6.0));
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(testing::all_close(out, {1 - lse0, -inf, 3 - lse0, 4 - lse1, 5 - lse1, 6 - lse1}, 1e-6));
}

TEST(DiscreteEnvUndo, NamesTheBackwardActionOfEachStep) {
  const HyperGrid env({2, 4, 0.1});
  // (1, 2) -> increment x_0 -> (2, 2); (2, 2) -> exit -> (2, 2, done); a padding row.
  const std::vector<std::int32_t> parents = {1, 2, 0, 2, 2, 0, 0, 0, 0};
  const std::vector<std::int32_t> children = {2, 2, 0, 2, 2, 1, 0, 0, 0};
  const std::vector<std::int32_t> actions = {0, 2, gfn::DiscreteEnv::no_action};
  std::vector<std::int32_t> out(3);
  env.undo_actions(parents, children, actions, out);
  EXPECT_EQ(out, (std::vector<std::int32_t>{0, 2, gfn::DiscreteEnv::no_action}));
  // Not a step: (1, 2) does not lead to (1, 3) by incrementing x_0.
  const std::vector<std::int32_t> bad_parent = {1, 2, 0}, bad_child = {1, 3, 0}, bad_action = {0};
  std::vector<std::int32_t> one(1);
  EXPECT_THROW_MSG(env.undo_actions(bad_parent, bad_child, bad_action, one), "undo_actions", "row 0");
}

}  // namespace
}  // namespace subtb::gflownet
