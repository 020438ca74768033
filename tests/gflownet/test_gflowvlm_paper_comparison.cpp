// GFlowVLM's comparison: the paper's figures as data, one run's metrics read back, the
// statistics over seeds, verdicts that follow the numbers, and a report written from
// hand-made run folders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "envs/household/scenario.h"
#include "gflownet/vlm/comparison_report.h"
#include "gflownet/vlm/paper_comparison.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(GflowVlmPaperComparison, PaperFiguresAndRows) {
  EXPECT_EQ(paper_figure("db-offpolicy", "numberline", "ood_success"), 18.6);
  EXPECT_EQ(paper_figure("sft", "blackjack", "success"), 23.1);
  EXPECT_EQ(paper_figure("vartb", "household", "look_at_obj_in_light"), 22.2);
  EXPECT_EQ(paper_figure("subtb", "household", "div"), 1.40);
  EXPECT_EQ(paper_figure("ppo", "household", "ood_success"), 4.8);
  EXPECT_FALSE(paper_figure("db", "household", "success"));       // the paper has no DB household row
  EXPECT_FALSE(paper_figure("ppo", "blackjack", "ood_success"));  // BlackJack has no OOD variant
  EXPECT_FALSE(paper_figure("vartb", "numberline", "div"));

  // The household columns are the world's task types, as its evaluations name them.
  ASSERT_EQ(household_categories().size(), static_cast<size_t>(household::kTaskTypeCount));
  for (int t = 0; t < household::kTaskTypeCount; ++t)
    EXPECT_EQ(household_categories()[t].key, household::name(static_cast<household::TaskType>(t)));

  ASSERT_EQ(comparison_arms().size(), 8u);
  EXPECT_EQ(comparison_arm("vartb", true).name, "vartb-offpolicy");
  EXPECT_EQ(comparison_arm("ppo", false).label, "RL4VLM (PPO)");
  EXPECT_THROW_MSG(comparison_arm("ppo", true), "ppo");
  EXPECT_THROW_MSG(comparison_arm("tb", false), "tb");
  EXPECT_EQ(find_comparison_arm("nope"), nullptr);
  EXPECT_EQ(find_comparison_task("household")->ood_label, "household-unseen");
  EXPECT_TRUE(find_comparison_task("blackjack")->ood_label.empty());
}

TEST(GflowVlmPaperComparison, ParsesTheLastEvaluationAndTheCurve) {
  const std::vector<json> lines = {
      json::parse(R"({"iteration": 1, "loss": 2.0, "seconds": 1.5, "env_steps": 12})"),
      json::parse(R"({"iteration": 2, "seconds": 3.0, "env_steps": 20,
        "eval": {"success_rate": 0.25, "invalid_rate": 0.5, "by_category": {},
                 "div_at_n": {"n": 4, "tasks": 8, "tasks_with_success": 2, "value": 1.5}},
        "eval_ood": {"success_rate": 0.0, "invalid_rate": 0.75}})"),
      json::parse(R"({"iteration": 3, "seconds": 4.5,
        "eval": {"success_rate": 0.5, "invalid_rate": 0.125,
                 "by_category": {"pick_and_place_simple": {"episodes": 4, "success_rate": 0.75}},
                 "div_at_n": {"n": 4, "tasks": 8, "tasks_with_success": 0, "value": null}}})"),
  };
  const RunResult run = parse_run(lines);
  EXPECT_EQ(run.iterations, 3);
  EXPECT_EQ(run.seconds, 4.5);
  ASSERT_TRUE(run.evaluated);
  EXPECT_EQ(run.eval.success_rate, 0.5);
  EXPECT_EQ(run.eval.invalid_rate, 0.125);
  EXPECT_EQ(run.eval.category_success.at("pick_and_place_simple"), 0.75);
  EXPECT_TRUE(std::isnan(run.eval.div));  // no task had a success
  EXPECT_EQ(run.eval.div_n, 4);
  EXPECT_TRUE(std::isnan(run.eval_ood.success_rate));  // the last evaluation has no eval_ood
  ASSERT_EQ(run.success, (std::vector<double>{0.25, 0.5}));
  ASSERT_EQ(run.env_steps.size(), 2u);
  EXPECT_EQ(run.env_steps[0], 20);
  EXPECT_TRUE(std::isnan(run.env_steps[1]));

  EXPECT_FALSE(parse_run({json::parse(R"({"iteration": 1})")}).evaluated);
  EXPECT_THROW_MSG(parse_run({json::parse(R"({"loss": 1})")}), "metrics line 1");
}

TEST(GflowVlmPaperComparison, StatisticsOverSeeds) {
  const Stat s = stat_of({0.5, kMissing, 0.7});
  EXPECT_EQ(s.n, 2);
  EXPECT_NEAR(s.mean, 0.6, 1e-15);
  EXPECT_NEAR(s.sd, std::sqrt(0.02), 1e-15);
  const Stat one = stat_of({0.3});
  EXPECT_EQ(one.n, 1);
  EXPECT_EQ(one.mean, 0.3);
  EXPECT_TRUE(std::isnan(one.sd));
  EXPECT_EQ(stat_of({}).n, 0);
  EXPECT_EQ(format_stat(s, true), "60.0 ± 14.1");
  EXPECT_EQ(format_stat(one, false), "0.30");
  EXPECT_EQ(format_stat({}, true), "—");

  RunResult a, b;
  a.env_steps = {10, 30, 50};
  a.success = {0.0, 0.5, 1.0};
  b.env_steps = {20, 40};
  b.success = {0.5, 0.25};
  const Curve curve = mean_curve({a, b});  // over the two evaluations both runs have
  EXPECT_EQ(curve.env_steps, (std::vector<double>{15, 35}));
  EXPECT_EQ(curve.mean, (std::vector<double>{0.25, 0.375}));
  EXPECT_EQ(curve.lo, (std::vector<double>{0.0, 0.25}));
  EXPECT_EQ(curve.hi, (std::vector<double>{0.5, 0.5}));
  b.env_steps[1] = kMissing;
  EXPECT_TRUE(mean_curve({a, b}).env_steps.empty());
}

std::map<std::string, Stat> ood_stats(double gflownet, double ppo, double sft) {
  std::map<std::string, Stat> stats;
  for (const ComparisonArm& arm : comparison_arms()) {
    if (arm.gflownet && !arm.off_policy) stats[arm.name] = {2, gflownet, 0.01};
  }
  stats["ppo"] = {2, ppo, 0.01};
  stats["sft"] = {2, sft, 0.01};
  return stats;
}

TEST(GflowVlmPaperComparison, VerdictsFollowTheNumbers) {
  Verdict v = judge(ood_stats(0.3, 0.2, 0.1), gflownet_ppo_sft_claim());
  EXPECT_EQ(v.outcome, Outcome::holds);
  EXPECT_EQ(v.comparisons.size(), 7u);  // three on-policy objectives vs PPO and vs SFT, PPO vs SFT
  EXPECT_EQ(v.missing, (std::vector<std::string>{"vartb-offpolicy", "subtb-offpolicy", "db-offpolicy"}));
  EXPECT_EQ(judge(ood_stats(0.3, 0.05, 0.1), gflownet_ppo_sft_claim()).outcome, Outcome::partly);
  EXPECT_EQ(judge(ood_stats(0.1, 0.2, 0.3), gflownet_ppo_sft_claim()).outcome, Outcome::fails);
  EXPECT_EQ(judge({}, gflownet_ppo_sft_claim()).outcome, Outcome::unknown);

  // One objective below PPO is enough to make it partly.
  std::map<std::string, Stat> stats = ood_stats(0.3, 0.2, 0.1);
  stats["db"] = {2, 0.15, 0.01};
  v = judge(stats, gflownet_ppo_sft_claim());
  EXPECT_EQ(v.outcome, Outcome::partly);
  EXPECT_FALSE(v.comparisons[2].holds());
  EXPECT_EQ(v.comparisons[2].higher, "db");

  // Without PPO runs, the GFlowNet rows are still compared with SFT.
  v = judge({{"vartb", {2, 0.3, 0.01}}, {"sft", {2, 0.4, 0.01}}}, gflownet_ppo_sft_claim());
  EXPECT_EQ(v.outcome, Outcome::fails);
  ASSERT_EQ(v.comparisons.size(), 1u);
  EXPECT_EQ(v.comparisons[0].lower, "sft");

  std::map<std::string, Stat> off = {{"vartb", {3, 0.2, 0.05}}, {"vartb-offpolicy", {3, 0.4, 0.05}}};
  EXPECT_EQ(judge(off, off_policy_claim()).outcome, Outcome::holds);
  off["vartb-offpolicy"].mean = 0.1;
  EXPECT_EQ(judge(off, off_policy_claim()).outcome, Outcome::fails);

  EXPECT_EQ(gflownet_above_baselines_claim().size(), 12u);  // six objectives x two baselines
}

TEST(GflowVlmPaperComparison, DescriptionsNameTheNumbersAndCautions) {
  Comparison close{"vartb", "ppo", {3, 0.50, 0.10}, {3, 0.45, 0.02}};
  EXPECT_TRUE(close.holds());
  EXPECT_TRUE(close.within_one_sd());
  close.b.mean = 0.30;
  EXPECT_FALSE(close.within_one_sd());
  EXPECT_FALSE((Comparison{"vartb", "ppo", {1, 0.5, kMissing}, {1, 0.45, kMissing}}.within_one_sd()));

  const std::map<std::string, Stat> stats = {
      {"vartb", {3, 0.50, 0.10}}, {"ppo", {3, 0.45, 0.02}}, {"sft", {3, 0.10, 0.05}}};
  const std::string text = describe(judge(stats, gflownet_ppo_sft_claim()), true);
  EXPECT_NE(text.find("**holds** on the rows that have runs: GFlowVLM Var-TB 50.0 ± 10.0 > RL4VLM (PPO) 45.0 ± 2.0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("(3 seeds)"), std::string::npos) << text;
  EXPECT_NE(text.find("No runs of GFlowVLM SubTB"), std::string::npos) << text;
  EXPECT_NE(text.find("1 of 3 gaps are within one standard deviation (GFlowVLM Var-TB vs RL4VLM (PPO))"),
            std::string::npos)
      << text;

  const std::string single =
      describe(judge({{"vartb", {1, 1.5, kMissing}}, {"ppo", {1, 2.0, kMissing}}, {"sft", {1, 1.0, kMissing}}},
                     gflownet_above_baselines_claim()),
               false);
  EXPECT_NE(single.find("**partly** on the rows that have runs: GFlowVLM Var-TB 1.50 ≤ RL4VLM (PPO) 2.00"),
            std::string::npos)
      << single;
  EXPECT_NE(single.find("single seed"), std::string::npos) << single;
  EXPECT_NE(describe(judge({}, off_policy_claim()), true).find("**cannot be checked**: no runs of"), std::string::npos);

  std::map<std::string, Stat> all;
  for (const ComparisonArm& arm : comparison_arms()) all[arm.name] = {2, arm.off_policy ? 0.4 : 0.2, 0.01};
  const std::string complete = describe(judge(all, off_policy_claim()), true);
  EXPECT_EQ(complete.rfind("**holds**: Var-TB (off-policy) 40.0 ± 1.0 > GFlowVLM Var-TB 20.0 ± 1.0; ", 0), 0u)
      << complete;
  EXPECT_EQ(complete.find("No runs"), std::string::npos) << complete;
  EXPECT_EQ(complete.find("Caution"), std::string::npos) << complete;
}

// A finished (or, with fewer lines, unfinished) run folder: `evaluations` evaluation lines
// of the given in-distribution and OOD success, Div@4 `div`.
void write_run(const fs::path& run, int64_t iterations, int64_t lines, double success, double ood, double div) {
  fs::create_directories(run);
  std::ofstream(run / "config.json") << json{{"loop", {{"iterations", iterations}}}}.dump();
  std::ofstream metrics(run / "metrics.jsonl");
  for (int64_t it = 1; it <= lines; ++it) {
    const json eval = {{"success_rate", success * static_cast<double>(it) / static_cast<double>(iterations)},
                       {"invalid_rate", 0.25},
                       {"by_category", json::object()},
                       {"div_at_n", {{"n", 4}, {"tasks", 8}, {"tasks_with_success", 3}, {"value", div}}}};
    metrics << json{{"iteration", it},
                    {"seconds", 10.0 * static_cast<double>(it)},
                    {"env_steps", 8 * it},
                    {"eval", eval},
                    {"eval_ood", {{"success_rate", ood}, {"invalid_rate", 0.5}}}}
                   .dump()
            << "\n";
  }
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(GflowVlmPaperComparison, ReportFromRunFolders) {
  const fs::path out = fs::temp_directory_path() / ("subtb_gflowvlm_comparison_" + std::to_string(getpid()));
  fs::remove_all(out);
  const fs::path nl = out / "runs" / "numberline";
  write_run(nl / "sft" / "seed0", 2, 2, 0.5, 0.0, 1.0);
  write_run(nl / "sft" / "seed1", 2, 2, 0.75, 0.0, 1.0);
  write_run(nl / "ppo" / "seed0", 2, 2, 0.75, 0.125, 1.25);
  write_run(nl / "vartb" / "seed0", 2, 2, 1.0, 0.25, 2.0);
  write_run(nl / "vartb" / "seed1", 2, 1, 1.0, 0.25, 2.0);  // still running
  std::ofstream(nl / "vartb" / "seed1" / "metrics.jsonl", std::ios::app) << R"({"iteration": 2, "secon)";
  std::ofstream(nl / "vartb" / "command.txt") << "subtb repro gflowvlm --task numberline --method vartb\n";
  std::ofstream(nl / "vartb" / "settings.json") << R"({"mode": "quick", "iterations": 2, "lr": 0.0001})";
  fs::create_directories(out / "runs" / "numberline" / "not-an-arm");

  EXPECT_EQ(seed_folder_number("seed12"), 12);
  EXPECT_EQ(seed_folder_number("seed"), -1);
  EXPECT_EQ(seed_folder_number("seed1x"), -1);
  EXPECT_EQ(seed_folder_number("seed-1"), -1);
  EXPECT_EQ(seed_folder_number("seed99999999999"), -1);
  EXPECT_EQ(seed_folder_number("run3"), -1);

  const std::vector<ArmRuns> arms = load_comparison_runs(out);
  ASSERT_EQ(arms.size(), 3u);  // sft, ppo, vartb in the paper's order
  EXPECT_EQ(arms[0].arm, "sft");
  EXPECT_EQ(arms[0].seeds, (std::vector<std::string>{"seed0", "seed1"}));
  EXPECT_EQ(arms[2].seeds, (std::vector<std::string>{"seed0"}));
  EXPECT_EQ(arms[2].unfinished, (std::vector<std::string>{"seed1"}));
  EXPECT_EQ(arms[2].command, "subtb repro gflowvlm --task numberline --method vartb");
  EXPECT_EQ(arms[2].settings.at("mode"), "quick");

  write_comparison_report(out, arms);
  const std::string md = read(out / "results.md");
  // SFT: 50 and 75 % over two seeds; the paper's 24.8 beside. No BlackJack runs.
  EXPECT_NE(md.find("| SFT | 62.5 ± 17.7 (24.8) | 0.0 ± 0.0 (0.0) | — (23.1) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| GFlowVLM Var-TB | 100.0 (100.0) | 25.0 (6.2) | — (41.4) |"), std::string::npos) << md;
  EXPECT_NE(md.find("- NL-OOD: **holds** on the rows that have runs: GFlowVLM Var-TB 25.0 > RL4VLM (PPO) 12.5; RL4VLM "
                    "(PPO) 12.5 > SFT 0.0 ± 0.0"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("- NL (Div@4): **holds** on the rows that have runs"), std::string::npos) << md;
  EXPECT_NE(md.find("subtb repro gflowvlm --task numberline --method vartb\n"), std::string::npos) << md;
  EXPECT_NE(md.find("| numberline | vartb | seed0 | seed1 | 16 | 20 | 20 |"), std::string::npos) << md;
  EXPECT_NE(md.find("- BJ: no runs yet."), std::string::npos) << md;
  EXPECT_TRUE(fs::exists(out / "numberline-success-vs-env-steps.png"));
  EXPECT_FALSE(fs::exists(out / "blackjack-success-vs-env-steps.png"));
  fs::remove_all(out);
}

}  // namespace
}  // namespace subtb::gflownet::vlm
