#include "apps/subtb/gflowvlm_run.h"

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

}  // namespace

nlohmann::json run_gflowvlm_seed(const GflowVlmRunOptions& f, int seed, const fs::path& run) {
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

}  // namespace subtb::cli
