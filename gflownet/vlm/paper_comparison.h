#pragma once
// GFlowVLM's comparison (Kang et al., CVPR 2025) as data and arithmetic: the paper's rows,
// tasks and figures; one run's results read from its metrics.jsonl; statistics over seeds;
// and the verdicts on the paper's claims, computed from the numbers.
// comparison_report.h lays them out as tables and figures.
//
// Units: rates as the runs write them, in [0, 1]; the paper's success figures in percent,
// as it prints them; Div@N as a count. A figure that is absent is NaN (runs) or nullopt
// (the paper).
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace subtb::gflownet::vlm {

inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// A row of the paper's tables and the folder its runs live in.
struct ComparisonArm {
  std::string name;    // folder name: "sft", "ppo", "vartb", ..., "vartb-offpolicy"
  std::string label;   // table row: "SFT", "RL4VLM (PPO)", "GFlowVLM Var-TB", ...
  std::string method;  // `subtb gflowvlm train --method`
  bool off_policy = false;
  bool gflownet = false;  // one of GFlowVLM's objectives (not SFT or PPO)
};

// The paper's eight rows in its order: sft, ppo, vartb, subtb, db, then the three
// objectives off-policy.
const std::vector<ComparisonArm>& comparison_arms();
// nullptr for a name that is not a row.
const ComparisonArm* find_comparison_arm(std::string_view name);
// The row of a method; throws for a combination the paper does not have (an unknown
// method, or sft/ppo off-policy).
const ComparisonArm& comparison_arm(std::string_view method, bool off_policy);

struct ComparisonTask {
  std::string name;       // the VLM task: "numberline", "blackjack", "household"
  std::string label;      // column header in distribution: "NL", "BJ", "household"
  std::string ood_label;  // column header out of distribution; "" when the task has no OOD variant
};
const std::vector<ComparisonTask>& comparison_tasks();
// nullptr for a task that is not in the comparison.
const ComparisonTask* find_comparison_task(std::string_view name);

// ALFWorld's six task types (the household runs' by_category keys) and the paper's headers.
struct HouseholdCategory {
  std::string key;     // "pick_and_place_simple", ...
  std::string header;  // "Pick", "Look", "Clean", "Heat", "Cool", "Pick2"
};
const std::vector<HouseholdCategory>& household_categories();

// A figure of the paper: key "success" (in distribution, %), "ood_success" (%), "div"
// (Div@16) or a household category key (%). nullopt where the paper reports none.
std::optional<double> paper_figure(std::string_view arm, std::string_view task, std::string_view key);

// One evaluation split of a run (the "eval" or "eval_ood" object of a metrics line).
struct SplitResult {
  double success_rate = kMissing;
  double invalid_rate = kMissing;
  std::map<std::string, double> category_success;  // by_category's success rates
  double div = kMissing;                           // Div@N; missing also when no task had a success
  int64_t div_n = 0;                               // N; 0 when the run computed no Div@N
};

// What the report needs of one run.
struct RunResult {
  int64_t iterations = 0;      // the last line's iteration
  double seconds = kMissing;   // the last line's wall time since the run started
  bool evaluated = false;      // some line carries "eval"
  SplitResult eval, eval_ood;  // of the last evaluation line
  // At each evaluation: the training episodes' environment steps so far (missing when the
  // line has no env_steps) and the in-distribution success rate.
  std::vector<double> env_steps, success;
};

// Reads the lines of a run's metrics.jsonl. Keys a line lacks stay missing; throws naming
// the line for one that is not an object with an integer "iteration".
RunResult parse_run(const std::vector<nlohmann::json>& lines);

// Success against training environment steps, averaged over runs evaluation by evaluation
// (over the evaluations every run has): the mean of the runs' env_steps and of their success,
// with its min and max. Empty when no run is given or a run's env_steps are missing.
struct Curve {
  std::vector<double> env_steps, mean, lo, hi;
};
Curve mean_curve(const std::vector<RunResult>& runs);

// Mean and standard deviation over seeds. Non-finite values are left out; sd is the
// Bessel-corrected one, missing for n < 2.
struct Stat {
  int64_t n = 0;
  double mean = kMissing, sd = kMissing;
};
Stat stat_of(const std::vector<double>& values);
Stat stat_over(const std::vector<RunResult>& runs, const std::function<double(const RunResult&)>& metric);

// Numbers as the report prints them: rates as percentages with one decimal when `percent`
// (0.625 -> "62.5"), otherwise two decimals (Div@N); a statistic as "mean ± sd", without
// "± sd" when it has none (one seed), "—" without values.
std::string format_number(double value, bool percent);
std::string format_stat(const Stat& stat, bool percent);

// A claim "arm `higher` is above arm `lower`" checked on one metric.
struct Comparison {
  std::string higher, lower;  // arm names
  Stat a, b;                  // of `higher`, of `lower`
  bool holds() const { return a.mean > b.mean; }
  // The gap is no larger than the larger of the two standard deviations, so the seeds do
  // not tell the arms apart. False when either sd is missing.
  bool within_one_sd() const;
};

enum class Outcome { holds, partly, fails, unknown };

// The verdict on a set of comparisons: holds when all hold, fails when none does, partly
// otherwise; unknown when no comparison has data on both sides.
struct Verdict {
  Outcome outcome = Outcome::unknown;
  std::vector<Comparison> comparisons;  // those with data on both sides
  std::vector<std::string> missing;     // arms named by the claim that have no data
};

using ArmPairs = std::vector<std::pair<std::string, std::string>>;  // (higher, lower) arm names
Verdict judge(const std::map<std::string, Stat>& stats, const ArmPairs& claim);

// The paper's claims as pairs of arms:
//   every GFlowNet arm above PPO, PPO above SFT, and (so) every GFlowNet arm above SFT;
ArmPairs gflownet_ppo_sft_claim();
//   each objective off-policy above the same objective on-policy;
ArmPairs off_policy_claim();
//   every GFlowNet arm above PPO and above SFT.
ArmPairs gflownet_above_baselines_claim();

// One line of Markdown: "**holds**: Var-TB 12.5 ± 3.1 > PPO 6.2 ± 1.0; ..." with the seed
// counts and a caution for gaps within one standard deviation or a single seed. `percent`
// prints the statistics as percentages (rates), otherwise as they are (Div@N).
std::string describe(const Verdict& verdict, bool percent);

}  // namespace subtb::gflownet::vlm
