#pragma once
// SFT data: expert episodes written as images, prompts and answers, the input of
// `subtb vlm train-sft`. The folder format is described in envs/vlm/README.md.
#include <cstdint>
#include <filesystem>
#include <memory>

#include "envs/vlm/task.h"
#include "envs/vlm/vlm_env.h"

namespace subtb::vlm {

struct SftOptions {
  int episodes = 100;
  std::uint64_t seed = 0;        // episode i is reset with seed + i
  EnvOptions env;                // prompt style, [DONE], step limit
  bool successful_only = false;  // drop the episodes the expert lost
};

struct SftSummary {
  int episodes = 0;   // played
  int successes = 0;  // of those, won by the expert
  int written = 0;    // episodes written
  int samples = 0;    // lines of index.jsonl
};

// Plays `options.episodes` expert episodes of `task` and writes them under `out_dir`
// (created when missing). Throws subtb::Error if the folder already holds a dataset or
// the task has no expert.
SftSummary write_sft_dataset(std::unique_ptr<Task> task, const SftOptions& options,
                             const std::filesystem::path& out_dir);

}  // namespace subtb::vlm
