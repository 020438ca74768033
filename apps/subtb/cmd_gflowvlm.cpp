// `subtb gflowvlm train`: fine-tunes the compact VLM on a VLM task (envs/vlm/) with one of
// GFlowVLM's objectives (vartb, subtb, db, tb) or a baseline (sft, ppo), over one or more
// seeds (docs/gflowvlm.md, "The training loop").
//
// Each seed writes a run folder <out>/seed<k> holding config.json (model, loop settings),
// tokenizer.json, metrics.jsonl (one line per iteration; evaluation lines carry "eval"),
// success.png (training and evaluation success rates) and checkpoints/step-<N>.safetensors
// (the final weights). <out>/summary.json gathers every seed's last evaluation. A seed's
// folder is also a valid --from-sft source: an SFT run here starts a GFlowNet run there.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "apps/subtb/commands.h"
#include "envs/render/line_plot.h"
#include "envs/render/png.h"
#include "gflownet/training_run.h"
#include "gflownet/vlm/vlm_trainer.h"
#include "nn/checkpoint.h"
#include "nn/lora.h"
#include "nn/text/synthetic_corpus.h"
#include "nn/tokenizer/special_tokens.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/vlm.h"
#include "tensor/error.h"

namespace subtb::cli {

namespace {

namespace fs = std::filesystem;
namespace gv = gflownet::vlm;

struct Flags {
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

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  SUBTB_CHECK(in.good(), "gflowvlm train: cannot read '", path.string(), "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The built-in corpus speaks the tasks' language (numbers, cards, NumberLine answers), so a
// tokenizer learned on it shortens the prompts several-fold against bytes.
nn::Tokenizer corpus_tokenizer() {
  const std::string corpus = nn::synthetic_corpus(0);
  std::vector<std::string> docs;
  for (size_t start = 0; start < corpus.size();) {
    const size_t end = std::min(corpus.find("\n\n", start), corpus.size());
    docs.push_back(corpus.substr(start, end - start));
    start = end + 2;
  }
  return nn::Tokenizer::train(docs, {.vocab_size = 1024});
}

void write_success_plot(const std::vector<double>& x, const std::vector<double>& train, const std::vector<double>& ex,
                        const std::vector<double>& eval, const std::string& title, const fs::path& path) {
  render::PlotOptions options;
  options.title = title;
  options.x_label = "iteration";
  options.y_label = "success rate";
  render::write_png(render::line_plot({{"training episodes", x, train, {}}, {"evaluation", ex, eval, {}}}, options),
                    path);
}

nlohmann::json run_seed(const Flags& f, int seed, const fs::path& run) {
  fs::create_directories(run);
  const Device device = Device::parse(f.device);
  nn::VLMConfig model_config;
  nn::Tokenizer tokenizer;
  fs::path weights;
  if (!f.from_sft.empty()) {
    const nlohmann::json sft = nlohmann::json::parse(read_text(fs::path(f.from_sft) / "config.json"));
    model_config = nn::vlm_config_from_json(sft.at("model").dump());
    tokenizer = nn::Tokenizer::load((fs::path(f.from_sft) / "tokenizer.json").string());
    weights = gflownet::last_checkpoint(f.from_sft);
  } else {
    model_config = nn::vlm_preset(f.config);
    tokenizer = corpus_tokenizer();
    model_config.language.vocab_size = tokenizer.vocab_size();
    model_config.image_token_id = nn::kImageToken;
  }
  tokenizer.save((run / "tokenizer.json").string());
  Generator init(static_cast<uint64_t>(seed));
  nn::VisionLanguageModel model(model_config, {DType::f32, device, &init});
  if (!weights.empty()) nn::load_checkpoint(weights.string(), nn::TrainingState{model});
  if (f.lora_rank > 0) {
    nn::apply_lora(model, {"q_proj", "k_proj", "v_proj", "o_proj"}, {.rank = f.lora_rank, .alpha = 2.0 * f.lora_rank});
  }

  gv::GflowVlmConfig c;
  c.method = gv::parse_method(f.method);
  c.task = f.task;
  c.max_steps = f.max_steps;
  c.episodes = f.episodes;
  c.episodes_per_task = f.episodes_per_task;
  c.iterations = f.iterations;
  c.warmup = std::min<int64_t>(5, f.iterations - 1);
  c.lr = f.lr;
  c.rollout.max_new_tokens = f.max_new_tokens;
  c.rollout.temperature = f.temperature;
  c.off_policy = f.off_policy;
  c.seed = static_cast<uint64_t>(seed);
  gv::GflowVlmTrainer trainer(model, tokenizer, c);
  const bool ood = f.task == "numberline";

  const nlohmann::json config = {{"model", nlohmann::json::parse(nn::to_json(model_config))},
                                 {"loop", gv::to_json(c)},
                                 {"from_sft", f.from_sft},
                                 {"lora_rank", f.lora_rank},
                                 {"tokenizer", "tokenizer.json"},
                                 {"eval_every", f.eval_every},
                                 {"eval_episodes", f.eval_episodes},
                                 {"device", f.device}};
  std::ofstream(run / "config.json") << config.dump(2) << "\n";
  std::ofstream metrics(run / "metrics.jsonl");
  SUBTB_CHECK(metrics.good(), "gflowvlm train: cannot write '", (run / "metrics.jsonl").string(), "'");

  const std::string title =
      f.task + ", " + f.method + (f.off_policy ? " (off-policy)" : "") + ", seed " + std::to_string(seed);
  std::vector<double> x, train_success, eval_x, eval_success;
  nlohmann::json last_eval;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t it = 1; it <= f.iterations; ++it) {
    const gv::IterationMetrics m = trainer.step();
    nlohmann::json line = gv::to_json(m);
    line["iteration"] = it;  // updates done, as the plot's x axis counts them
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    line["seconds"] = seconds;
    x.push_back(static_cast<double>(it));
    train_success.push_back(m.success_rate);
    if (it % f.eval_every == 0 || it == f.iterations) {
      // Evaluation seeds 0, 1, ... are never drawn for training (vlm_trainer.h).
      line["eval"] = gv::to_json(trainer.evaluate(f.eval_episodes, 0));
      if (ood) line["eval_ood"] = gv::to_json(trainer.evaluate(f.eval_episodes, 0, "numberline-ood"));
      last_eval = line;
      eval_x.push_back(static_cast<double>(it));
      eval_success.push_back(line["eval"]["success_rate"].get<double>());
      char ood_text[32] = "";
      if (ood)
        std::snprintf(ood_text, sizeof ood_text, "  ood success %.2f", line["eval_ood"]["success_rate"].get<double>());
      std::printf(
          "seed %d  iteration %4lld/%lld  loss %9.4f  train success %.2f  eval success %.2f  invalid %.2f%s  %.0fs\n",
          seed, static_cast<long long>(it), static_cast<long long>(f.iterations), m.loss, m.success_rate,
          line["eval"]["success_rate"].get<double>(), line["eval"]["invalid_rate"].get<double>(), ood_text, seconds);
      std::fflush(stdout);
      write_success_plot(x, train_success, eval_x, eval_success, title, run / "success.png");
    }
    metrics << line.dump() << std::endl;
  }
  // Named as gflownet::last_checkpoint expects, so that --from-sft can start from this run.
  fs::create_directories(run / "checkpoints");
  const std::string name = "step-" + std::to_string(trainer.iterations_done()) + ".safetensors";
  nn::save_checkpoint((run / "checkpoints" / name).string(), nn::TrainingState{model}, trainer.iterations_done(),
                      config.dump());
  return last_eval;
}

// --quick's settings, except those the command line gives.
void apply_quick(Flags& f, const CLI::App& train) {
  const auto set = [&](const char* flag, auto& field, auto value) {
    if (train.count(flag) == 0) field = value;
  };
  set("--config", f.config, std::string("tiny"));
  set("--iterations", f.iterations, int64_t{20});
  set("--episodes", f.episodes, int64_t{4});
  set("--max-steps", f.max_steps, 5);
  set("--max-new-tokens", f.max_new_tokens, int64_t{64});
  set("--eval-every", f.eval_every, int64_t{10});
  set("--eval-episodes", f.eval_episodes, int64_t{8});
  set("--lr", f.lr, 1e-3);
}

void run_train(Flags f, const CLI::App& train) {
  if (f.quick) apply_quick(f, train);
  const fs::path out = f.out.empty()
                           ? fs::path("runs/gflowvlm-" + f.task + "-" + f.method + (f.off_policy ? "-offpolicy" : ""))
                           : fs::path(f.out);
  nlohmann::json seeds = nlohmann::json::array();
  double total = 0;
  for (int seed = 0; seed < f.seeds; ++seed) {
    const nlohmann::json last = run_seed(f, seed, out / ("seed" + std::to_string(seed)));
    seeds.push_back(last);
    total += last["eval"]["success_rate"].get<double>();
  }
  const nlohmann::json summary = {{"task", f.task},
                                  {"method", f.method},
                                  {"off_policy", f.off_policy},
                                  {"seeds", seeds},
                                  {"mean_eval_success", total / f.seeds}};
  std::ofstream(out / "summary.json") << summary.dump(2) << "\n";
  std::printf("mean evaluation success over %d seed(s): %.3f (%s)\n", f.seeds, total / f.seeds,
              (out / "summary.json").string().c_str());
}

}  // namespace

void add_gflowvlm_command(CLI::App& app) {
  static Flags f;
  CLI::App* group = app.add_subcommand("gflowvlm", "GFlowVLM: fine-tune the VLM on a task with GFlowNet objectives");
  group->require_subcommand(1);
  CLI::App* train = group->add_subcommand("train", "Train over seeds, evaluating as it goes; writes run folders");
  train->add_option("--task", f.task, "VLM task (numberline, blackjack, ...)")->capture_default_str();
  train->add_option("--method", f.method, "sft, ppo, vartb, tb, subtb or db")
      ->check(CLI::IsMember({"sft", "ppo", "vartb", "tb", "subtb", "db"}))
      ->capture_default_str();
  train->add_flag("--off-policy", f.off_policy, "Episode buffer with the expert's episode when the model fails");
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
  train->add_option("--max-new-tokens", f.max_new_tokens, "Tokens per answer")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16))
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
  train->add_option("--device", f.device, "cpu or cuda[:N]")->capture_default_str();
  train->add_option("--out", f.out, "Output folder (default runs/gflowvlm-<task>-<method>[-offpolicy])");
  train->callback([train] { run_train(f, *train); });
}

}  // namespace subtb::cli
