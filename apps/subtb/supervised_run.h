#pragma once
// The training loop of `subtb lm train` and `subtb vlm train-sft`, and its run folder:
//   config.json    the run's configuration (written at a fresh start)
//   metrics.jsonl  one line every log_every steps and at every evaluation: step, loss (the
//                  mean since the previous line), val_loss (null between evaluations), lr,
//                  <items>_per_second, seconds; flushed after every line
//   loss.png       training and evaluation loss against steps, redrawn at every evaluation
//   checkpoints/   step-<N>.safetensors (gflownet/training_run.h's naming) at every
//                  evaluation: the trainer's state with config.json's text; the two newest
//                  are kept
// Evaluations fall every eval_every steps and at the last one. A checkpoint is written
// only where a loss window ends, so the trainer's state is the whole run's state: a run
// resumed from its newest checkpoint writes the metrics of one never stopped (seconds and
// throughput aside). Resuming drops the metrics lines past the checkpoint, then appends.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "envs/render/line_plot.h"
#include "nn/checkpoint.h"
#include "nn/module.h"

namespace subtb::cli {

// What the loop needs of a trainer; supervised_trainer() adapts nn::LMTrainer and
// nn::VlmSftTrainer.
struct SupervisedTrainer {
  std::function<double()> step;      // one update; returns its loss
  std::function<double()> evaluate;  // the evaluation loss
  std::function<double()> current_lr;
  std::function<int64_t()> steps_done;
  std::function<void(const std::string& path, const std::string& config_json)> save_checkpoint;
  std::function<nn::CheckpointInfo(const std::string& path)> load_checkpoint;
};

template <class Trainer>
SupervisedTrainer supervised_trainer(Trainer& t) {
  return {[&t] { return t.step(); },
          [&t] { return t.evaluate(); },
          [&t] { return t.current_lr(); },
          [&t] { return t.steps_done(); },
          [&t](const std::string& path, const std::string& config) { t.save_checkpoint(path, config); },
          [&t](const std::string& path) { return t.load_checkpoint(path); }};
}

struct SupervisedRunOptions {
  std::string command;  // names the loop in errors, e.g. "lm train"
  std::filesystem::path out;
  std::string config_json;
  int64_t steps = 0;  // the run's last step
  int64_t log_every = 10;
  int64_t eval_every = 100;
  int64_t items_per_step = 1;  // for the throughput
  std::string items;           // what they are: "tokens", "examples"
  std::string eval_name;       // the evaluation loss in the progress line and the plot
  render::PlotOptions plot;    // title and y label of loss.png
  // Continue from the run folder's newest checkpoint (loaded into the trainer here).
  bool resume = false;
  std::function<void()> on_checkpoint;  // also called at each checkpoint, when set
};

// The optimisation settings of a trainer's config (nn::LMTrainingConfig, nn::VlmSftConfig),
// as config.json records them.
template <class Config>
nlohmann::json optimizer_json(const Config& c) {
  return {{"batch", c.batch},
          {"steps", c.steps},
          {"warmup", c.warmup},
          {"lr", c.lr},
          {"min_lr_factor", c.min_lr_factor},
          {"weight_decay", c.weight_decay},
          {"grad_clip", c.grad_clip},
          {"seed", c.seed}};
}

// How many numbers the model learns, for the run's header line.
int64_t parameter_count(nn::Module& model);

// Trains up to options.steps, printing progress to stdout.
void run_supervised(const SupervisedTrainer& trainer, const SupervisedRunOptions& options);

}  // namespace subtb::cli
