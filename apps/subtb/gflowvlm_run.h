#pragma once
// One seed of a GFlowVLM fine-tuning run (apps/subtb/cmd_gflowvlm.cpp, `subtb gflowvlm train`),
// callable in-process so that `subtb repro gflowvlm` drives the same runs.
//
// A run folder holds config.json (model, loop settings), tokenizer.json, metrics.jsonl (one
// line per iteration; evaluation lines carry "eval" and, when the task has an
// out-of-distribution variant, "eval_ood"), success.png (training and evaluation
// success rates) and checkpoints/step-<N>.safetensors (GflowVlmTrainer::save_checkpoint: the
// weights and the trainer's state, every checkpoint_every iterations and at the last; the
// two newest are kept). It is also a valid --from-sft source: an SFT run here starts a
// GFlowNet run there.
//
// Resuming continues a seed from its newest checkpoint up to `iterations` and writes the
// parameters and metrics of a run never stopped (the seconds aside): metrics.jsonl loses
// its lines past the checkpoint, then grows. The flags must build the saved run's model
// (model config, LoRA rank) and loop (every loop setting but iterations, which may extend
// the run and its cosine schedule); anything else is refused naming the field. A seed
// folder without a checkpoint starts afresh; one already at `iterations` only reports.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace subtb::cli {

// The command line's settings of a run (`subtb gflowvlm train --help` documents each).
struct GflowVlmRunOptions {
  std::string task = "numberline";
  std::string method = "vartb";
  bool off_policy = false;
  bool sft_without_done = false;
  int seeds = 1;
  bool quick = false;
  std::string config = "tiny";
  std::string from_sft;  // a run folder with config.json, tokenizer.json and checkpoints/
  int64_t iterations = 200;
  int64_t episodes = 8;
  int64_t episodes_per_task = 2;
  int max_steps = 0;
  int64_t max_new_tokens = 0;  // 0: default_max_new_tokens(task)
  double temperature = 0.2;
  double lr = 1e-4;
  int64_t lora_rank = 0;
  int64_t eval_every = 50;
  int64_t eval_episodes = 50;
  std::optional<double> eval_temperature;  // unset: the training temperature; 0: greedy
  std::string eval_invalid = "penalty";    // random | penalty (gflownet/vlm/evaluation.h)
  int64_t div_n = 0;                       // Div@N's samples per task; 0: not computed
  int64_t div_tasks = 8;                   // tasks Div@N samples
  // The task's scripted player, for SFT data and off-policy expert episodes: "" for the
  // task's default (BlackJack: basic strategy; "stand17" is GFlowVLM's off-policy expert).
  std::string expert;
  std::string device = "cpu";
  std::string out;
  int64_t checkpoint_every = 0;  // 0: at every evaluation
  bool resume = false;
};

// Tokens an answer may take unless given: 64 for the card games (their expert answers take
// up to ~60 tokens of the run's tokenizer), 96 for the household tasks (up to ~72).
int64_t default_max_new_tokens(std::string_view task);
// --quick's episode step limit unless given: 5 for the card games; 12 for the household
// tasks, whose expert takes 6 steps on average and at most 10 (GFlowVLM's limit, 35,
// makes a failing episode three times as long to play and score).
int quick_max_steps(std::string_view task);

// Trains one seed into `run` and returns its last metrics line (with "eval").
nlohmann::json run_gflowvlm_seed(const GflowVlmRunOptions& options, int seed, const std::filesystem::path& run);

}  // namespace subtb::cli
