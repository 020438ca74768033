// `subtb gflowvlm train`: fine-tunes the compact VLM on a VLM task (envs/vlm/) with one of
// GFlowVLM's objectives (vartb, subtb, db, tb) or a baseline (sft, ppo), over one or more
// seeds (docs/gflowvlm.md, "The training loop").
//
// Each seed writes a run folder <out>/seed<k> (apps/subtb/gflowvlm_run.h lists its files);
// <out>/summary.json gathers every seed's last evaluation. --resume continues the seed
// folders from their last checkpoints.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/subtb/commands.h"
#include "apps/subtb/gflowvlm_run.h"
#include "nn/atomic_file.h"
#include "tensor/error.h"

namespace subtb::cli {

namespace {

namespace fs = std::filesystem;

// --quick's settings, except those the command line gives.
void apply_quick(GflowVlmRunOptions& f, const CLI::App& train) {
  const auto set = [&](const char* flag, auto& field, auto value) {
    if (train.count(flag) == 0) field = value;
  };
  set("--config", f.config, std::string("tiny"));
  set("--iterations", f.iterations, int64_t{20});
  set("--episodes", f.episodes, int64_t{4});
  set("--max-steps", f.max_steps, quick_max_steps(f.task));
  set("--eval-every", f.eval_every, int64_t{10});
  set("--eval-episodes", f.eval_episodes, int64_t{8});
  set("--div-n", f.div_n, int64_t{4});
  set("--lr", f.lr, 1e-3);
}

void run_train(GflowVlmRunOptions f, const CLI::App& train) {
  if (f.quick) apply_quick(f, train);
  const fs::path out = f.out.empty()
                           ? fs::path("runs/gflowvlm-" + f.task + "-" + f.method + (f.off_policy ? "-offpolicy" : "") +
                                      (f.sft_without_done ? "-nodone" : ""))
                           : fs::path(f.out);
  SUBTB_CHECK(!f.resume || fs::is_directory(out), "gflowvlm train --resume: '", out.string(), "' holds no run");
  nlohmann::json seeds = nlohmann::json::array();
  double total = 0;
  for (int seed = 0; seed < f.seeds; ++seed) {
    const nlohmann::json last = run_gflowvlm_seed(f, seed, out / ("seed" + std::to_string(seed)));
    seeds.push_back(last);
    total += last["eval"]["success_rate"].get<double>();
  }
  const nlohmann::json summary = {{"task", f.task},
                                  {"method", f.method},
                                  {"off_policy", f.off_policy},
                                  {"seeds", seeds},
                                  {"mean_eval_success", total / f.seeds}};
  nn::write_text_atomically((out / "summary.json").string(), summary.dump(2) + "\n");
  std::printf("mean evaluation success over %d seed(s): %.3f (%s)\n", f.seeds, total / f.seeds,
              (out / "summary.json").string().c_str());
}

}  // namespace

void add_gflowvlm_command(CLI::App& app) {
  static GflowVlmRunOptions f;
  CLI::App* group = app.add_subcommand("gflowvlm", "GFlowVLM: fine-tune the VLM on a task with GFlowNet objectives");
  group->require_subcommand(1);
  CLI::App* train = group->add_subcommand("train", "Train over seeds, evaluating as it goes; writes run folders");
  train->add_option("--task", f.task, "VLM task (numberline, blackjack, ...)")->capture_default_str();
  train->add_option("--method", f.method, "sft, ppo, vartb, tb, subtb or db")
      ->check(CLI::IsMember({"sft", "ppo", "vartb", "tb", "subtb", "db"}))
      ->capture_default_str();
  train->add_flag("--off-policy", f.off_policy, "Episode buffer with the expert's episode when the model fails");
  train->add_flag("--sft-without-done", f.sft_without_done,
                  "sft: teach the expert's answers only, not [DONE] after its successes (the SFT baseline without "
                  "[DONE])");
  train->add_option("--seeds", f.seeds, "Seeds to run")->check(CLI::Range(1, 100))->capture_default_str();
  train->add_flag("--quick", f.quick, "Tiny model, 20 iterations of 4 episodes: minutes on two CPU cores");
  train->add_option("--config", f.config, "Model size when not --from-sft: tiny, small or base")
      ->check(CLI::IsMember({"tiny", "small", "base"}))
      ->capture_default_str();
  train
      ->add_option("--from-sft", f.from_sft,
                   "Start from a run folder of `subtb vlm train-sft` or of this command (model, tokenizer)")
      ->check(CLI::ExistingDirectory);
  train->add_option("--iterations", f.iterations, "Iterations (episodes played, then one update)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_option("--episodes", f.episodes, "Episodes per iteration")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16))
      ->capture_default_str();
  train->add_option("--episodes-per-task", f.episodes_per_task, "Episodes sharing each task reset (Var-TB's groups)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16))
      ->capture_default_str();
  train->add_option("--max-steps", f.max_steps, "Episode step limit (0: the task's)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  train->add_option("--max-new-tokens", f.max_new_tokens, "Tokens per answer (0: 64, or 96 for the household tasks)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 16))
      ->capture_default_str();
  train->add_option("--temperature", f.temperature, "Sampling temperature")
      ->check(CLI::Range(1e-3, 100.0))
      ->capture_default_str();
  train->add_option("--lr", f.lr, "Peak AdamW learning rate")->check(CLI::Range(1e-8, 10.0))->capture_default_str();
  train->add_option("--lora-rank", f.lora_rank, "Train LoRA adapters of this rank on the attention (0: full)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 12))
      ->capture_default_str();
  train->add_option("--eval-every", f.eval_every, "Evaluate every N iterations")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_option("--eval-episodes", f.eval_episodes, "Episodes per evaluation")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  train
      ->add_option("--eval-temperature", f.eval_temperature,
                   "Evaluation sampling temperature (default: --temperature; 0: greedy)")
      ->check(CLI::Range(0.0, 100.0));
  train
      ->add_option("--eval-invalid", f.eval_invalid,
                   "Evaluation of an invalid output: penalty (nothing moves) or random (RL4VLM's random action)")
      ->check(CLI::IsMember({"penalty", "random"}))
      ->capture_default_str();
  train
      ->add_option("--div-n", f.div_n,
                   "Div@N at the final evaluation, in distribution: samples per task (0: off; --quick: 4)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 12))
      ->capture_default_str();
  train->add_option("--div-tasks", f.div_tasks, "Div@N: tasks sampled (the first evaluation seeds)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16))
      ->capture_default_str();
  train
      ->add_option("--expert", f.expert,
                   "The task's scripted player for SFT data and off-policy episodes (blackjack: basic or stand17)")
      ->capture_default_str();
  train->add_option("--device", f.device, "cpu or cuda[:N]")->capture_default_str();
  train->add_option("--out", f.out, "Output folder (default runs/gflowvlm-<task>-<method>[-offpolicy])");
  train->add_option("--checkpoint-every", f.checkpoint_every, "Checkpoint every N iterations (0: at every evaluation)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40))
      ->capture_default_str();
  train->add_flag("--resume", f.resume,
                  "Continue each seed of the output folder from its last checkpoint up to --iterations; the other "
                  "flags must be the run's");
  train->callback([train] { run_train(f, *train); });
}

}  // namespace subtb::cli
