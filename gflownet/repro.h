#pragma once
// Reproduction studies: the comparisons of the papers, run in-process. A study is a grid of
// training configurations: panels (one environment each, e.g. one hypergrid) times arms (one
// trainer configuration each, e.g. TB, DB, SubTB(0.9)), every pair trained for several seeds
// and measured every eval_every steps by the study's probe. The report then gives, per
// panel, each metric against steps (mean over seeds, min-max band), a table of the steps
// each arm needs to reach the metric's thresholds, and a verdict on the paper's claims.
//
// Output folder (write_study_report):
//   results.md     the command, the settings, the tables, the figures and the verdicts
//   metrics.csv    every evaluation of every run: panel, arm, seed, step, one column a metric
//   <panel>-<metric>.png  one figure per panel and metric
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "envs/gfn/discrete_env.h"
#include "gflownet/evaluation.h"
#include "gflownet/trainer.h"

namespace subtb::gflownet {

struct Metric {
  std::string key;    // column of metrics.csv, file name of its figures
  std::string label;  // axis and table label
  bool lower_is_better = true;
  std::vector<double> thresholds;  // the table's "steps to reach" columns
  bool log_y = false;
};

// Measures a run's policy: observe() after every training step (for metrics over all the
// samples seen so far), measure() at every evaluation, one value per Study::metrics.
class Probe {
 public:
  virtual ~Probe() = default;
  virtual void observe(const Trainer&) {}
  virtual std::vector<double> measure(Trainer& trainer) = 0;
};

// The probe of an enumerable environment: the exact L1 between the policy's terminal
// distribution and R/Z, and |learned log Z - true log Z|, in that order.
std::unique_ptr<Probe> exact_distribution_probe(const gfn::DiscreteEnv& env);
// The metrics exact_distribution_probe measures, with the given L1 thresholds.
std::vector<Metric> exact_distribution_metrics(std::vector<double> l1_thresholds);

// The probe of a space too large to enumerate, with the metrics `keys` names, in that
// order: "modes_found" and "top_k_reward" (what the run's samples found so far:
// gflownet/discovery.h, the best eval.top_k unique objects) and "spearman" (log p(x)
// against log R(x) on the test set of `eval`, gflownet/evaluation.h). Throws for another key.
std::unique_ptr<Probe> discovery_probe(const gfn::DiscreteEnv& env, const EvalOptions& eval,
                                       const std::vector<std::string>& keys);

struct Arm {
  std::string label;     // legend and table row, e.g. "SubTB(0.9)"
  TrainerConfig config;  // its seed is replaced by each run's
};

struct Panel {
  std::string title;  // e.g. "D=4, H=12, R0=1e-3"
  std::shared_ptr<const gfn::DiscreteEnv> env;
};

// A claim of a paper, checked on every panel: arm `best` converges faster (lower or higher
// mean over the evaluations, whichever is better) and ends better (last evaluation) on
// metric `metric` than each arm of `others`; both averaged over seeds.
struct Claim {
  std::string text;
  std::string best;
  std::vector<std::string> others;
  size_t metric = 0;
};

struct Study {
  std::string name;         // the folder and the command's argument, e.g. "hypergrid"
  std::string title;        // the report's heading
  std::string description;  // Markdown: the paper's setting and how this run departs from it
  std::vector<Panel> panels;
  std::vector<Arm> arms;  // every arm runs on every panel
  std::vector<Metric> metrics;
  std::function<std::unique_ptr<Probe>(const gfn::DiscreteEnv&)> make_probe;
  std::vector<Claim> claims;
  int64_t steps = 1000;
  int64_t eval_every = 100;  // and at the last step
  std::vector<uint64_t> seeds{0};
};

// One training run's record.
struct RunRecord {
  size_t panel = 0, arm = 0;
  uint64_t seed = 0;
  std::vector<int64_t> steps;               // the evaluated steps
  std::vector<std::vector<double>> values;  // [metric][evaluation]
  double seconds = 0;                       // training and evaluation
};

// Runs every (panel, arm, seed), panels outermost; one progress line a run when `progress`.
std::vector<RunRecord> run_study(const Study& study, std::ostream* progress = nullptr);

// The first evaluated step whose value reaches `threshold` (<= it when lower is better,
// >= otherwise); -1 when none does. Non-finite values never reach it.
int64_t steps_to_reach(const std::vector<int64_t>& steps, const std::vector<double>& values, double threshold,
                       bool lower_is_better);

// The mean, min and max over runs of one metric at each evaluation (the runs share their
// evaluated steps); non-finite values are left out, NaN where none is left.
struct Spread {
  std::vector<int64_t> steps;
  std::vector<double> mean, min, max;
};
Spread spread_over_runs(const std::vector<const RunRecord*>& runs, size_t metric);

// The verdict of a claim on one panel: which of its two tests (faster, better at the end)
// hold against every other arm.
struct ClaimCheck {
  bool faster = false;
  bool better_final = false;
};
ClaimCheck check_claim(const Study& study, const std::vector<RunRecord>& records, size_t panel, const Claim& claim);

struct ReportOptions {
  std::filesystem::path out;  // created if missing
  std::string command;        // the command line that produced the runs
  std::string mode;           // e.g. "quick: ..."
  double seconds = 0;         // the whole study's wall time
  double cpu_seconds = 0;     // and the process's CPU time (all threads)
};

// Writes results.md, metrics.csv and the figures (see the header comment).
void write_study_report(const Study& study, const std::vector<RunRecord>& records, const ReportOptions& options);

}  // namespace subtb::gflownet
