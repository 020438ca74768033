// SFT's masked cross-entropy (with and without [DONE]), the episode buffer and its
// expert rule, and the collation of episodes into the objectives' layout.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "gflownet/vlm/episode.h"
#include "gflownet/vlm/episode_buffer.h"
#include "gflownet/vlm/objectives.h"
#include "gflownet/vlm/sft.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

using testing::all_close;

double log_softmax_at(const std::vector<double>& row, size_t k) {
  double z = 0;
  for (double v : row) z += std::exp(v);
  return row[k] - std::log(z);
}

TEST(GflowVlmSft, MaskedCrossEntropyWithAndWithoutDone) {
  // V = 4 with [DONE] = 3. Positions: target 0 (answer), target 3 ([DONE], answer),
  // target -100 (padding, masked out: its id is never read).
  const std::vector<double> r0{1.0, 0.0, -1.0, 0.5}, r1{0.0, 2.0, 0.0, 1.0}, r2{9.0, 9.0, 9.0, 9.0};
  std::vector<double> flat(r0);
  flat.insert(flat.end(), r1.begin(), r1.end());
  flat.insert(flat.end(), r2.begin(), r2.end());
  const Tensor logits = from_vector<double>(flat, Shape{1, 3, 4});
  const Tensor targets = from_vector<int64_t>({0, 3, -100}, Shape{1, 3});
  const Tensor mask = from_vector<bool>({1, 1, 0}, Shape{1, 3});
  const double with_done = -(log_softmax_at(r0, 0) + log_softmax_at(r1, 3)) / 2;
  EXPECT_NEAR(sft_loss(logits, targets, mask, {true, 3}).item(), with_done, 1e-12);
  EXPECT_NEAR(sft_loss(logits, targets, mask, {false, 3}).item(), -log_softmax_at(r0, 0), 1e-12);

  Tensor x = logits.detach().requires_grad_();
  sft_loss(x, targets, mask, {false, 3}).backward();
  const std::vector<double> g = testing::values(x.grad());
  for (size_t i = 4; i < 12; ++i) EXPECT_EQ(g[i], 0.0) << "position " << i / 4 << " is not trained";
  EXPECT_NE(g[0], 0.0);

  EXPECT_THROW_MSG(sft_loss(logits, targets, from_vector<bool>({0, 1, 0}, Shape{1, 3}), {false, 3}), "sft_loss",
                   "no position to train on", "other than [DONE]");
  EXPECT_THROW_MSG(sft_loss(logits, targets, mask.to(DType::i64)), "mask must be bool");
}

Episode make_episode(std::uint64_t seed, int steps, bool success) {
  Episode e;
  e.seed = seed;
  e.success = success;
  for (int t = 0; t < steps; ++t) {
    e.steps.push_back(
        {{1, 2, 3}, {10 + t, 20 + t, 30 + t}, {TokenRole::cot, TokenRole::other, TokenRole::action}, "+"});
  }
  for (int t = 0; t <= steps; ++t) e.log_rewards.push_back(std::log(100.0 / (steps - t + 1)));
  return e;
}

TEST(GflowVlmBuffer, KeepsTheNewestEpisodesFirstInFirstOut) {
  EpisodeBuffer buffer;
  EXPECT_EQ(buffer.capacity(), 4);
  for (std::uint64_t s = 0; s < 6; ++s) buffer.add(make_episode(s, 1, true));
  ASSERT_EQ(buffer.size(), 4);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(buffer[i].seed, static_cast<std::uint64_t>(i + 2));

  Generator g1(3), g2(3);
  const std::vector<Episode> a = buffer.sample(16, g1), b = buffer.sample(16, g2);
  ASSERT_EQ(a.size(), 16u);
  std::set<std::uint64_t> seen;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].seed, b[i].seed);
    EXPECT_GE(a[i].seed, 2u);
    seen.insert(a[i].seed);
  }
  EXPECT_GT(seen.size(), 1u);
  EXPECT_THROW_MSG(EpisodeBuffer(1).sample(1, g1), "empty");
  EXPECT_THROW_MSG(EpisodeBuffer(0), "capacity must be >= 1");
  Episode broken = make_episode(9, 2, false);
  broken.log_rewards.pop_back();
  EXPECT_THROW_MSG(buffer.add(broken), "2 steps need 3 log-rewards");
}

TEST(GflowVlmBuffer, ExpertEpisodesComplementFailures) {
  EpisodeBuffer buffer(4);
  int expert_calls = 0;
  auto expert = [&]() -> std::optional<Episode> {
    ++expert_calls;
    return make_episode(42, 2, true);
  };
  EXPECT_EQ(record_episode(buffer, make_episode(42, 3, true), expert), 1);
  EXPECT_EQ(expert_calls, 0);  // a success needs no expert
  EXPECT_EQ(record_episode(buffer, make_episode(42, 3, false), expert), 2);
  EXPECT_EQ(expert_calls, 1);
  ASSERT_EQ(buffer.size(), 3);
  EXPECT_EQ(buffer[1].source, EpisodeSource::model);
  EXPECT_EQ(buffer[2].source, EpisodeSource::expert);
  EXPECT_EQ(buffer[2].steps.size(), 2u);
  // Only expert data, or no expert at all.
  EXPECT_EQ(record_episode(buffer, make_episode(7, 1, false), expert, {false, true}), 1);
  EXPECT_EQ(buffer[buffer.size() - 1].source, EpisodeSource::expert);
  EXPECT_EQ(record_episode(buffer, make_episode(7, 1, false), [] { return std::optional<Episode>(); }), 1);
}

TEST(GflowVlmBuffer, RoundTripsThroughJson) {
  EpisodeBuffer buffer(3);
  buffer.add(make_episode(5, 2, false));
  Episode expert = make_episode(5, 1, true);
  expert.source = EpisodeSource::expert;
  buffer.add(expert);
  EpisodeBuffer restored(3);
  restored.restore(nlohmann::json::parse(buffer.to_json().dump()));
  ASSERT_EQ(restored.size(), 2);
  for (int64_t i = 0; i < 2; ++i) {
    const Episode &a = buffer[i], &b = restored[i];
    EXPECT_EQ(a.seed, b.seed);
    EXPECT_EQ(a.success, b.success);
    EXPECT_EQ(a.source, b.source);
    EXPECT_EQ(a.log_rewards, b.log_rewards);
    ASSERT_EQ(a.steps.size(), b.steps.size());
    for (size_t t = 0; t < a.steps.size(); ++t) {
      EXPECT_EQ(a.steps[t].prompt, b.steps[t].prompt);
      EXPECT_EQ(a.steps[t].answer, b.steps[t].answer);
      EXPECT_EQ(a.steps[t].roles, b.steps[t].roles);
      EXPECT_EQ(a.steps[t].action, b.steps[t].action);
    }
  }
  EXPECT_THROW_MSG(EpisodeBuffer(4).restore(buffer.to_json()), "holds 3 episodes, this one 4");
  nlohmann::json bad = buffer.to_json();
  bad["episodes"][0]["steps"][0]["roles"] = "cxa";
  EXPECT_THROW_MSG(restored.restore(bad), "unknown token role 'x'");
  EXPECT_EQ(restored.size(), 2);  // unchanged by the failed restore
  bad["episodes"][0].erase("seed");
  EXPECT_THROW_MSG(restored.restore(bad), "malformed");

  Episode infinite = make_episode(1, 1, false);
  infinite.log_rewards[1] = -std::numeric_limits<double>::infinity();
  EXPECT_THROW_MSG(buffer.add(infinite), "log-reward of state 1 must be finite");
}

TEST(GflowVlmBuffer, CollateLaysEpisodesOutForTheObjectives) {
  const CollatedEpisodes c = collate({make_episode(0, 2, true), make_episode(1, 0, false)}, DType::f64);
  ASSERT_EQ(c.answer_tokens.shape(), (Shape{2, 6}));
  EXPECT_EQ(c.answer_tokens.to_vector<int64_t>(),
            (std::vector<int64_t>{10, 20, 30, 11, 21, 31, 256, 256, 256, 256, 256, 256}));
  EXPECT_EQ(c.answer.step_index.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0, 1, 1, 1, -1, -1, -1, -1, -1, -1}));
  EXPECT_EQ(c.lengths.to_vector<int64_t>(), (std::vector<int64_t>{2, 0}));
  EXPECT_TRUE(all_close(c.log_reward, {std::log(100.0 / 3), std::log(50.0), std::log(100.0), std::log(100.0), 0.0, 0.0},
                        1e-12));
  // Token log-probs -1 everywhere: each step is -1 (action) + 0.4 * -1 (CoT); the separator is ignored.
  const Tensor lp = full({2, 6}, -1.0, DType::f64);
  EXPECT_TRUE(all_close(step_log_pf(lp, c.answer, 2), {-1.4, -1.4, 0.0, 0.0}, 1e-12));
  const EpisodeBatch batch{step_log_pf(lp, c.answer, 2), full({2, 3}, -1.0, DType::f64), c.log_reward, c.lengths};
  EXPECT_GT(subtb_loss(batch).item(), 0.0);
}

}  // namespace
}  // namespace subtb::gflownet::vlm
