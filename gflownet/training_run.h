#pragma once
// A training run with its record: steps a Trainer, evaluates the policy every N steps
// against the exact target, prints a progress line, and keeps a run folder:
//   config.json    the run's configuration (given by the caller)
//   metrics.jsonl  one JSON object per evaluation: step, loss (mean over the finite losses
//                  since the previous evaluation), skipped (steps with a non-finite loss
//                  so far, see TrainerConfig::skip_nonfinite), l1, jsd, empirical_l1,
//                  empirical_l1_floor, samples, log_z, log_z_true, log_z_error, spearman,
//                  spearman_exact, test_states, modes_found, num_modes, top_k, top_k_reward,
//                  top_k_log_reward, seconds (evaluation.h and discovery.h
//                  define them; a metric the environment does not allow is null)
//   curves.png     loss, L1 and top-k mean reward against steps (log scale)
//   checkpoints/   step-<step>.safetensors every checkpoint_every steps and at the last
//                  step, the two newest kept: the trainer's state, the config and the
//                  loop's own (the loss sum and sampled terminal states since the previous
//                  evaluation, the modes and best objects found, the seconds so far), so that a resumed run writes the
//                  same metrics as one never stopped
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
  EvalOptions eval;                  // test set, top-k and the exact-evaluation limit
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

// Where the run folder's checkpoint of `step` goes: checkpoints/step-<step>.safetensors.
std::filesystem::path checkpoint_path(const std::filesystem::path& run_folder, int64_t step);
// Removes all but the two newest checkpoints of the run folder. Called after writing a
// checkpoint, so that a crash at any point leaves at least one complete checkpoint.
void remove_old_checkpoints(const std::filesystem::path& run_folder);
// The run folder's newest checkpoint; throws naming the folder when it has none.
std::filesystem::path last_checkpoint(const std::filesystem::path& run_folder);
// The config_json saved with the newest checkpoint; throws naming the file when it is
// missing or unreadable.
std::string saved_config(const std::filesystem::path& run_folder);

}  // namespace subtb::gflownet
