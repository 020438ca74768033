#pragma once
// A training run with its record: steps a Trainer, evaluates the policy every N steps
// against the exact target, prints a progress line, and keeps a run folder:
//   config.json    the run's configuration (given by the caller)
//   metrics.jsonl  one JSON object per evaluation: step, loss (mean over the finite losses
//                  since the previous evaluation), skipped (steps with a non-finite loss
//                  so far, see TrainerConfig::skip_nonfinite), l1, empirical_l1, empirical_l1_floor, samples,
//                  log_z, log_z_true, log_z_error, seconds
//   curves.png     loss and L1 against steps (log scale)
//   checkpoints/   step-<step>.safetensors every checkpoint_every steps and at the last
//                  step, the two newest kept: the trainer's state, the config and the
//                  loop's own (the loss sum and sampled terminal states since the previous
//                  evaluation, the seconds so far), so that a resumed run writes the same
//                  metrics as one never stopped
// metrics.jsonl is flushed after every line, so a run that stops early keeps its record;
// resuming drops the lines past the checkpoint's step, then appends.
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
  int64_t checkpoint_every = 0;  // 0: at every evaluation
  // Continue from the run folder's newest checkpoint; the trainer must be built from the
  // saved config (saved_config) and options.steps may exceed the saved run's.
  bool resume = false;
  std::ostream* progress = nullptr;  // where the progress lines go; none when null
};

struct EvalRecord {
  int64_t step = 0;
  double loss = 0;
  int64_t skipped = 0;  // steps skipped for a non-finite loss, up to this one
  PolicyMetrics metrics;
  double seconds = 0;  // since the start of the run
};

// Trains `trainer` up to step options.steps (evaluating at every multiple of eval_every and
// at the last step) and returns the run's evaluations, those of earlier sessions included
// when resuming. A non-finite loss throws naming the step, after the evaluations and
// checkpoints before it are written.
std::vector<EvalRecord> run_training(const gfn::DiscreteEnv& env, Trainer& trainer, const RunOptions& options);

// The run folder's newest checkpoint; throws naming the folder when it has none.
std::filesystem::path last_checkpoint(const std::filesystem::path& run_folder);
// The config_json saved with the newest checkpoint; throws naming the file when it is
// missing or unreadable.
std::string saved_config(const std::filesystem::path& run_folder);

}  // namespace subtb::gflownet
