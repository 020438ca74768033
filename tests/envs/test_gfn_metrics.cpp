// Metrics: both L1 conventions, JSD, the exact sampling noise floor against brute force
// and simulation, Spearman with ties, and the unique top-k tracker.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "envs/gfn/metrics.h"
#include "tests/envs/test_gfn_checks.h"

namespace subtb::gfn {
namespace {

TEST(GfnMetrics, L1Conventions) {
  const std::vector<double> p = {0.5, 0.25, 0.25, 0.0}, q = {0.25, 0.25, 0.25, 0.25};
  EXPECT_DOUBLE_EQ(l1_distance(p, q), 0.5);
  EXPECT_DOUBLE_EQ(l1_distance(p, q, L1Convention::mean), 0.125);
  EXPECT_GFN_THROW(l1_distance(p, std::vector<double>{1.0}), "distributions of 4 and 1 states");
}

TEST(GfnMetrics, JensenShannon) {
  EXPECT_DOUBLE_EQ(jensen_shannon(std::vector<double>{1, 0}, std::vector<double>{0, 1}), std::log(2.0));
  EXPECT_DOUBLE_EQ(jensen_shannon(std::vector<double>{0.3, 0.7}, std::vector<double>{0.3, 0.7}), 0.0);
  const double js = jensen_shannon(std::vector<double>{0.5, 0.5}, std::vector<double>{1.0, 0.0});
  EXPECT_NEAR(js, 0.5 * (0.5 * std::log(0.5 / 0.75) + 0.5 * std::log(0.5 / 0.25)) + 0.5 * std::log(1.0 / 0.75), 1e-15);
}

// E|X/N - p| summed over the binomial pmf directly.
double brute_expected_l1(const std::vector<double>& p, int n) {
  double total = 0;
  for (double pi : p) {
    for (int x = 0; x <= n; ++x) {
      const double log_pmf = std::lgamma(n + 1.0) - std::lgamma(x + 1.0) - std::lgamma(n - x + 1.0) +
                             (x ? x * std::log(pi) : 0.0) + (n - x ? (n - x) * std::log1p(-pi) : 0.0);
      total += std::exp(log_pmf) * std::abs(static_cast<double>(x) / n - pi);
    }
  }
  return total;
}

TEST(GfnMetrics, SamplingNoiseFloorIsExact) {
  const std::vector<double> p = {0.4, 0.3, 0.2, 0.07, 0.03};
  for (int n : {1, 2, 7, 50, 333}) {
    EXPECT_NEAR(expected_sampling_l1(p, n), brute_expected_l1(p, n), 1e-12) << "N = " << n;
  }
  EXPECT_NEAR(expected_sampling_l1(p, 50, L1Convention::mean), brute_expected_l1(p, 50) / 5, 1e-12);
  // A point mass has no noise; the simulation agrees with the closed form.
  EXPECT_EQ(expected_sampling_l1(std::vector<double>{0.0, 1.0}, 10), 0.0);
  const double exact = expected_sampling_l1(p, 100);
  EXPECT_NEAR(simulated_sampling_l1(p, 100, 4000, 9), exact, 0.01 * exact);
  EXPECT_GFN_THROW(expected_sampling_l1(p, 0), "needs samples > 0");
}

TEST(GfnMetrics, SpearmanAveragesTiedRanks) {
  EXPECT_DOUBLE_EQ(spearman(std::vector<double>{1, 2, 3, 4}, std::vector<double>{10, 20, 30, 40}), 1.0);
  EXPECT_DOUBLE_EQ(spearman(std::vector<double>{1, 2, 3, 4}, std::vector<double>{4, 3, 2, 1}), -1.0);
  // x ranks 1, 2.5, 2.5, 4; y ranks 1, 3, 2, 4: Pearson of the ranks is 0.9486832980505138.
  EXPECT_NEAR(spearman(std::vector<double>{1, 2, 2, 3}, std::vector<double>{1, 3, 2, 4}), 0.9486832980505138, 1e-15);
  EXPECT_TRUE(std::isnan(spearman(std::vector<double>{1, 1}, std::vector<double>{1, 2})));
}

TEST(GfnMetrics, UniqueTopKIgnoresRepeats) {
  UniqueTopK top(2, 2);
  top.add(std::vector<std::int32_t>{1, 2, 3, 4, 1, 2}, std::vector<double>{0.0, std::log(3.0), 0.0});
  EXPECT_EQ(top.num_unique(), 2);
  top.add(std::vector<std::int32_t>{3, 4, 5, 6, 7, 8}, std::vector<double>{std::log(3.0), std::log(2.0), -1.0});
  EXPECT_EQ(top.num_unique(), 4);
  EXPECT_EQ(top.top_log_rewards(), (std::vector<double>{std::log(3.0), std::log(2.0)}));
  EXPECT_DOUBLE_EQ(top.mean_reward(), 2.5);
  EXPECT_DOUBLE_EQ(top.mean_log_reward(), 0.5 * (std::log(3.0) + std::log(2.0)));
  EXPECT_TRUE(std::isnan(UniqueTopK(3, 1).mean_reward()));
  EXPECT_GFN_THROW(top.add(std::vector<std::int32_t>{1, 2, 3}, std::vector<double>{0.0}), "3 state values for 1 rewards");
}

}  // namespace
}  // namespace subtb::gfn
