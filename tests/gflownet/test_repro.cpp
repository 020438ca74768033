// Reproduction studies: steps-to-threshold and the spread over seeds from known metric
// sequences, and a tiny study run end to end whose report's numbers are those of its runs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "envs/gfn/hypergrid.h"
#include "envs/gfn/set_generation.h"
#include "gflownet/repro.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(ReproStepsToReach, FirstEvaluationAtOrPastTheThreshold) {
  const std::vector<int64_t> steps{10, 20, 30, 40};
  const std::vector<double> values{1.0, 0.6, kNaN, 0.2};
  EXPECT_EQ(steps_to_reach(steps, values, 0.6, true), 20);
  EXPECT_EQ(steps_to_reach(steps, values, 0.5, true), 40);  // the NaN at 30 never counts
  EXPECT_EQ(steps_to_reach(steps, values, 0.1, true), -1);
  EXPECT_EQ(steps_to_reach(steps, values, 1.0, true), 10);
  EXPECT_EQ(steps_to_reach(steps, {0.1, 0.3, 0.9, 0.5}, 0.8, false), 30);
  EXPECT_THROW_MSG(steps_to_reach(steps, {1.0}, 0.5, true), "steps_to_reach");
}

TEST(ReproSpread, MeanMinMaxOverRunsLeavingOutNonFinite) {
  RunRecord a{0, 0, 0, {5, 10}, {{1.0, 4.0}}, 0}, b{0, 0, 1, {5, 10}, {{3.0, kNaN}}, 0};
  const Spread s = spread_over_runs({&a, &b}, 0);
  EXPECT_EQ(s.steps, (std::vector<int64_t>{5, 10}));
  EXPECT_EQ(s.mean, (std::vector<double>{2.0, 4.0}));
  EXPECT_EQ(s.min, (std::vector<double>{1.0, 4.0}));
  EXPECT_EQ(s.max, (std::vector<double>{3.0, 4.0}));
  RunRecord c{0, 0, 2, {5}, {{1.0}}, 0};
  EXPECT_THROW_MSG(spread_over_runs({&a, &c}, 0), "different steps");
}

// A probe with known values: (1 + seed) / step, halved for SubTB.
class KnownProbe final : public Probe {
 public:
  std::vector<double> measure(Trainer& trainer) override {
    const TrainerConfig& c = trainer.config();
    const double scale = c.objective == Objective::subtb ? 0.5 : 1.0;
    return {scale * (1.0 + static_cast<double>(c.seed)) / static_cast<double>(trainer.steps_done())};
  }
};

Study tiny_study() {
  Study study;
  study.name = "tiny";
  study.title = "Tiny study";
  study.description = "Two arms on a 4 x 4 grid.";
  study.panels = {{"D=2, H=4", std::make_shared<gfn::HyperGrid>(gfn::HyperGridConfig{2, 4, 0.1})}};
  TrainerConfig base;
  base.hidden = 16;
  base.batch = 4;
  base.objective = Objective::tb;
  study.arms.push_back({"TB", base});
  base.objective = Objective::subtb;
  study.arms.push_back({"SubTB", base});
  study.steps = 20;
  study.eval_every = 10;
  study.seeds = {0, 1};
  return study;
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream file(path);
  return {std::istreambuf_iterator<char>(file), {}};
}

TEST(ReproStudy, TinyStudyWritesTablesFiguresAndVerdictsFromItsRuns) {
  Study study = tiny_study();
  study.metrics = {{"score", "score", true, {0.1, 0.05}, true}};
  study.make_probe = [](const gfn::DiscreteEnv&) { return std::make_unique<KnownProbe>(); };
  study.claims = {{"SubTB wins", "SubTB", {"TB"}, 0}, {"TB wins", "TB", {"SubTB"}, 0}};
  const std::vector<RunRecord> records = run_study(study);
  ASSERT_EQ(records.size(), 4u);
  for (const RunRecord& r : records) EXPECT_EQ(r.steps, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(records[1].values[0], (std::vector<double>{0.2, 0.1}));  // TB, seed 1

  const ClaimCheck subtb_wins = check_claim(study, records, 0, study.claims[0]);
  EXPECT_TRUE(subtb_wins.faster && subtb_wins.better_final);
  const ClaimCheck tb_wins = check_claim(study, records, 0, study.claims[1]);
  EXPECT_FALSE(tb_wins.faster || tb_wins.better_final);

  const std::filesystem::path out = std::filesystem::temp_directory_path() / ("repro-" + std::to_string(getpid()));
  write_study_report(study, records, {out, "subtb repro tiny", "test", 1.0});
  const std::string md = read_all(out / "results.md");
  // TB reaches 0.1 at step 10 (seed 0) and 20 (seed 1): median 15; 0.05 only with seed 0.
  EXPECT_NE(md.find("| TB | 0.075 ± 0.0354 | 15 (2/2) | not reached (1/2) |"), std::string::npos) << md;
  // SubTB's values are halved: 0.05 and 0.1 at step 10, 0.025 and 0.05 at 20.
  EXPECT_NE(md.find("| SubTB | 0.0375 ± 0.0177 | 10 (2/2) | 15 (2/2) |"), std::string::npos) << md;
  EXPECT_NE(md.find("subtb repro tiny"), std::string::npos);
  EXPECT_NE(md.find("**agrees**"), std::string::npos);
  EXPECT_NE(md.find("**does not agree**"), std::string::npos);
  const std::string csv = read_all(out / "metrics.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 4 * 2);
  EXPECT_NE(csv.find("\"D=2, H=4\",\"TB\",1,20,0.1\n"), std::string::npos) << csv;
  const std::string png = read_all(out / "d-2-h-4-score.png");
  ASSERT_GE(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  std::filesystem::remove_all(out);
}

TEST(ReproStudy, ExactProbeMeasuresL1AndLogZError) {
  Study study = tiny_study();
  study.seeds = {0};
  study.metrics = exact_distribution_metrics({1.0});
  study.make_probe = exact_distribution_probe;
  const std::vector<RunRecord> records = run_study(study);
  ASSERT_EQ(records.size(), 2u);
  for (const RunRecord& r : records) {
    ASSERT_EQ(r.values.size(), 2u);
    for (double l1 : r.values[0]) EXPECT_TRUE(l1 >= 0 && l1 <= 2) << l1;
    for (double error : r.values[1]) EXPECT_TRUE(std::isfinite(error) && error >= 0) << error;
  }
}

TEST(ReproStudy, DiscoveryProbeTracksTheBestSetSampled) {
  // Sets of 2 of 4 elements: the best, {0, 1}, has R = exp(-(0.5 + 1)); 320 samples find it.
  Study study;
  study.name = "sets";
  study.panels = {
      {"2 of 4", std::make_shared<gfn::SetGeneration>(gfn::SetGenerationConfig{"tiny", 4, 2, {0.5, 1, 2, 3}})}};
  TrainerConfig config;
  config.hidden = 16;
  config.objective = Objective::db;
  study.arms = {{"DB", config}};
  study.steps = 20;
  study.eval_every = 10;
  study.metrics = {{"top_1_reward", "top-1 reward", false, {}, false}};
  study.make_probe = [](const gfn::DiscreteEnv& env) {
    EvalOptions eval;
    eval.top_k = 1;
    return discovery_probe(env, eval, {"top_k_reward"});
  };
  const std::vector<RunRecord> records = run_study(study);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_NEAR(records[0].values[0].back(), std::exp(-1.5), 1e-12);
  EXPECT_THROW_MSG(discovery_probe(*study.panels[0].env, {}, {"l1"}), "unknown metric 'l1'");
}

}  // namespace
}  // namespace subtb::gflownet
