#pragma once
// One seed of a GFlowVLM fine-tuning run (apps/subtb/cmd_gflowvlm.cpp, `subtb gflowvlm train`),
// callable in-process so that `subtb repro gflowvlm` drives the same runs.
//
// A run folder holds config.json (model, loop settings), tokenizer.json, metrics.jsonl (one
// line per iteration; evaluation lines carry "eval"), success.png (training and evaluation
// success rates) and checkpoints/step-<N>.safetensors (the final weights). It is also a valid
// --from-sft source: an SFT run here starts a GFlowNet run there.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace subtb::cli {

// The command line's settings of a run (`subtb gflowvlm train --help` documents each).
struct GflowVlmRunOptions {
  std::string task = "numberline";
  std::string method = "vartb";
  bool off_policy = false;
  int seeds = 1;
  bool quick = false;
  std::string config = "tiny";
  std::string from_sft;  // a run folder with config.json, tokenizer.json and checkpoints/
  int64_t iterations = 200;
  int64_t episodes = 8;
  int64_t episodes_per_task = 2;
  int max_steps = 0;
  int64_t max_new_tokens = 64;
  double temperature = 0.2;
  double lr = 1e-4;
  int64_t lora_rank = 0;
  int64_t eval_every = 50;
  int64_t eval_episodes = 50;
  std::string device = "cpu";
  std::string out;
};

// Trains one seed into `run` and returns its last metrics line (with "eval").
nlohmann::json run_gflowvlm_seed(const GflowVlmRunOptions& options, int seed, const std::filesystem::path& run);

}  // namespace subtb::cli
