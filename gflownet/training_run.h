#pragma once
// A training run with its record: steps a Trainer, evaluates the policy every N steps
// against the exact target, prints a progress line, and keeps a run folder:
//   config.json    the run's configuration (given by the caller)
//   metrics.jsonl  one JSON object per evaluation: step, loss (mean over the steps since the
//                  previous evaluation), l1, empirical_l1, empirical_l1_floor, samples,
//                  log_z, log_z_true, log_z_error, seconds
//   curves.png     loss and L1 against steps (log scale)
// metrics.jsonl is flushed after every line, so a run that stops early keeps its record.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "gflownet/evaluation.h"
#include "gflownet/trainer.h"

namespace subtb::gflownet {

struct RunOptions {
  int64_t steps = 1000;
  int64_t eval_every = 100;
  std::filesystem::path out;  // the run folder, created if missing
  std::string config_json = "{}";
  std::ostream* progress = nullptr;  // where the progress lines go; none when null
};

struct EvalRecord {
  int64_t step = 0;
  double loss = 0;
  PolicyMetrics metrics;
  double seconds = 0;  // since the start of the run
};

// Trains `trainer` for options.steps steps (evaluating at every multiple of eval_every and
// at the last step) and returns the evaluations. A non-finite loss throws naming the
// step, after the evaluations before it are written.
std::vector<EvalRecord> run_training(const gfn::DiscreteEnv& env, Trainer& trainer, const RunOptions& options);

}  // namespace subtb::gflownet
