#pragma once
// Training checkpoints: one safetensors file (nn/safetensors.h) with everything a run
// needs to resume bit for bit, readable by Python's safetensors like any other:
//   tensors   "model.<name>"        the module's state dict
//             "optimizer.<key>"     the optimizer's (moments, per-parameter steps, group lrs)
//             "module.<m>.<name>"   the state dict of each further module m (a value head, ...)
//   metadata  "format"              "subtb.checkpoint", and "format_version": "1"
//             "step"                the training step, in decimal
//             "rng.<name>"          each generator's "<seed> <offset>", in decimal
//             "config"              the run's configuration, JSON text
// Writes are atomic: a crash leaves the previous checkpoint intact.
#include <map>
#include <string>

#include "nn/module.h"
#include "nn/optim.h"
#include "tensor/ops/random.h"

namespace subtb::nn {

// What a checkpoint saves and restores. The optimizer is optional; generators are named
// RNG streams (the sampler's, dropout's, ...); modules are named further modules trained
// beside the model (a critic, a learned log Z), kept apart so that the model's own entries
// stay loadable by a TrainingState that has the model alone.
struct TrainingState {
  Module& model;
  Optimizer* optimizer = nullptr;
  std::map<std::string, Generator*> generators = {};
  std::map<std::string, Module*> modules = {};
};

struct CheckpointInfo {
  int64_t step = 0;
  std::string config;  // JSON text
};

// config_json must be valid JSON (it is checked).
void save_checkpoint(const std::string& path, const TrainingState& state, int64_t step,
                     const std::string& config_json = "{}");

// Restores the model, the optimizer (when given) and every named generator from `path`
// and returns the step and config. The whole file is validated first (format, missing
// or unexpected keys, shapes, dtypes, generator states, step, config) and anything
// wrong throws naming the file and the problem without changing the state. Optimizer
// entries are ignored when no optimizer is given, as are generators and modules not asked for.
CheckpointInfo load_checkpoint(const std::string& path, const TrainingState& state);

}  // namespace subtb::nn
