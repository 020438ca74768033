#include "apps/subtb/gflowvlm_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "envs/render/line_plot.h"
#include "envs/render/png.h"
#include "envs/vlm/registry.h"
#include "gflownet/training_run.h"
#include "gflownet/vlm/task_tokenizer.h"
#include "gflownet/vlm/vlm_trainer.h"
#include "nn/atomic_file.h"
#include "nn/checkpoint.h"
#include "nn/lora.h"
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

void write_success_plot(const std::vector<double>& x, const std::vector<double>& train, const std::vector<double>& ex,
                        const std::vector<double>& eval, const std::string& title, const fs::path& path) {
  render::PlotOptions options;
  options.title = title;
  options.x_label = "iteration";
  options.y_label = "success rate";
  render::write_png(render::line_plot({{"training episodes", x, train, {}}, {"evaluation", ex, eval, {}}}, options),
                    path);
}

vlm::InvalidFallback invalid_fallback(const std::string& name) {
  if (name == "random") return vlm::InvalidFallback::random_action;
  SUBTB_CHECK(name == "penalty", "gflowvlm train: --eval-invalid '", name, "' is unknown (random, penalty)");
  return vlm::InvalidFallback::penalty;
}

// The evaluation the flags ask for: training's decoding unless --eval-temperature (0: greedy).
gv::EvalOptions eval_options(const gv::GflowVlmTrainer& trainer, const GflowVlmRunOptions& f) {
  gv::EvalOptions eval = trainer.eval_options(f.eval_episodes, 0);
  if (f.eval_temperature.has_value()) {
    SUBTB_CHECK(*f.eval_temperature >= 0, "gflowvlm train: --eval-temperature ", *f.eval_temperature, " is negative");
    eval.rollout.greedy = *f.eval_temperature == 0;
    if (!eval.rollout.greedy) eval.rollout.temperature = *f.eval_temperature;
  }
  eval.on_invalid = invalid_fallback(f.eval_invalid);
  eval.div_n = f.div_n;
  eval.div_tasks = f.div_tasks;
  eval.validate();
  return eval;
}

// "  div@N d" of an evaluation's JSON ("-" without a success); "" when Div@N is off.
std::string div_text(const nlohmann::json& eval) {
  if (!eval.contains("div_at_n")) return "";
  const nlohmann::json& d = eval["div_at_n"];
  char text[48];
  if (d["value"].is_null()) {
    std::snprintf(text, sizeof text, "  div@%lld -", d["n"].get<long long>());
  } else {
    std::snprintf(text, sizeof text, "  div@%lld %.2f", d["n"].get<long long>(), d["value"].get<double>());
  }
  return text;
}

// The seed folder's newest checkpoint, or nothing when it has none (a seed that never
// reached one, or a crash in its first save, which leaves a temporary file only).
std::optional<fs::path> newest_checkpoint(const fs::path& run) {
  const fs::path dir = run / "checkpoints";
  if (!fs::is_directory(dir)) return std::nullopt;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("step-") && name.ends_with(".safetensors")) return gflownet::last_checkpoint(run);
  }
  return std::nullopt;
}

// Refuses to resume with flags that build another model than the saved run's.
void check_same_model(const nlohmann::json& saved, const nlohmann::json& asked, const fs::path& checkpoint) {
  const auto refuse = [&](const std::string& field, const nlohmann::json& was, const nlohmann::json& is) {
    SUBTB_THROW("gflowvlm train --resume: '", checkpoint.string(), "' was saved with ", field, " ", was.dump(),
                ", the flags give ", is.dump());
  };
  if (saved.value("lora_rank", nlohmann::json()) != asked.at("lora_rank"))
    refuse("lora_rank", saved.value("lora_rank", nlohmann::json()), asked.at("lora_rank"));
  const nlohmann::json model = saved.value("model", nlohmann::json::object());
  for (const auto& [key, value] : asked.at("model").items()) {
    if (model.value(key, nlohmann::json()) != value) refuse("model." + key, model.value(key, nlohmann::json()), value);
  }
}

// What the run folder's metrics.jsonl holds up to `iteration`: the plot's series and the
// last evaluation line. The file is rewritten (atomically) without the later lines, which
// a run stopped after them but before its next checkpoint wrote.
struct RunHistory {
  std::vector<double> x, train_success, eval_x, eval_success;
  nlohmann::json last_eval;
  double seconds = 0;  // of the last line kept
};

RunHistory truncate_metrics(const fs::path& path, int64_t iteration) {
  RunHistory h;
  std::ifstream file(path);
  if (!file.good()) return h;
  std::string kept, text;
  for (int64_t number = 1; std::getline(file, text); ++number) {
    if (text.empty()) continue;
    try {
      const nlohmann::json line = nlohmann::json::parse(text);
      const int64_t it = line.at("iteration").get<int64_t>();
      if (it > iteration) break;
      h.x.push_back(static_cast<double>(it));
      h.train_success.push_back(line.at("success_rate").get<double>());
      if (line.contains("eval")) {
        h.eval_x.push_back(static_cast<double>(it));
        h.eval_success.push_back(line["eval"].at("success_rate").get<double>());
        h.last_eval = line;
      }
      h.seconds = line.at("seconds").get<double>();
      kept += text + "\n";
    } catch (const nlohmann::json::exception& e) {
      if (file.peek() == std::ifstream::traits_type::eof()) break;  // torn by a kill mid-write
      SUBTB_THROW("gflowvlm train --resume: '", path.string(), "' line ", number, " is not a metrics line: ", e.what());
    }
  }
  nn::write_text_atomically(path.string(), kept);
  return h;
}

bool is_household(std::string_view task) { return task.starts_with("household"); }

}  // namespace

int64_t default_max_new_tokens(std::string_view task) { return is_household(task) ? 96 : 64; }

int quick_max_steps(std::string_view task) { return is_household(task) ? 12 : 5; }

nlohmann::json run_gflowvlm_seed(const GflowVlmRunOptions& f, int seed, const fs::path& run) {
  fs::create_directories(run);
  const Device device = Device::parse(f.device);
  const std::optional<fs::path> checkpoint = f.resume ? newest_checkpoint(run) : std::nullopt;
  // The checkpoint's copy of config.json: what the resumed run must agree with.
  const nlohmann::json saved = checkpoint ? nlohmann::json::parse(gflownet::saved_config(run)) : nlohmann::json();
  if (checkpoint) {
    const int64_t done = std::stoll(checkpoint->stem().string().substr(5));  // step-<N>, as last_checkpoint found it
    SUBTB_CHECK(done <= f.iterations, "gflowvlm train --resume: '", checkpoint->string(), "' is at iteration ", done,
                ", beyond --iterations ", f.iterations);
  }
  nn::VLMConfig model_config;
  nn::Tokenizer tokenizer;
  fs::path weights;
  if (!f.from_sft.empty()) {
    const nlohmann::json sft = nlohmann::json::parse(read_text(fs::path(f.from_sft) / "config.json"));
    model_config = nn::vlm_config_from_json(sft.at("model").dump());
    tokenizer = nn::Tokenizer::load((fs::path(f.from_sft) / "tokenizer.json").string());
    weights = gflownet::last_checkpoint(f.from_sft);
  } else {
    // A resumed run keeps the tokenizer it was trained with.
    tokenizer = checkpoint ? nn::Tokenizer::load((run / "tokenizer.json").string()) : gv::train_task_tokenizer();
    model_config = nn::vlm_preset(f.config);
    model_config.language.vocab_size = tokenizer.vocab_size();
    model_config.image_token_id = nn::kImageToken;
  }
  if (!checkpoint) tokenizer.save((run / "tokenizer.json").string());
  Generator init(static_cast<uint64_t>(seed));
  nn::VisionLanguageModel model(model_config, {DType::f32, device, &init});
  if (!weights.empty() && !checkpoint) nn::load_checkpoint(weights.string(), nn::TrainingState{model});
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
  // A resumed run keeps its warmup where a longer one would warm up longer.
  c.warmup = checkpoint ? saved.at("loop").at("warmup").get<int64_t>() : std::min<int64_t>(5, f.iterations - 1);
  c.lr = f.lr;
  c.rollout.max_new_tokens = f.max_new_tokens > 0 ? f.max_new_tokens : default_max_new_tokens(f.task);
  c.rollout.temperature = f.temperature;
  c.off_policy = f.off_policy;
  c.sft_teach_done = !f.sft_without_done;
  c.task_options.expert = f.expert;
  c.seed = static_cast<uint64_t>(seed);
  gv::GflowVlmTrainer trainer(model, tokenizer, c);
  const std::optional<std::string> ood = vlm::ood_task_name(f.task);
  // Evaluation seeds 0, 1, ... are never drawn for training (gflownet/vlm/evaluation.h).
  const gv::EvalOptions eval = eval_options(trainer, f);

  const nlohmann::json config = {{"model", nlohmann::json::parse(nn::to_json(model_config))},
                                 {"loop", gv::to_json(c)},
                                 {"from_sft", f.from_sft},
                                 {"lora_rank", f.lora_rank},
                                 {"tokenizer", "tokenizer.json"},
                                 {"eval_every", f.eval_every},
                                 {"eval_episodes", f.eval_episodes},
                                 {"eval_temperature", eval.rollout.greedy ? 0.0 : eval.rollout.temperature},
                                 {"eval_invalid", f.eval_invalid},
                                 {"div_n", f.div_n},
                                 {"div_tasks", f.div_tasks},
                                 {"device", f.device},
                                 {"checkpoint_every", f.checkpoint_every}};
  RunHistory history;
  if (checkpoint) {
    check_same_model(saved, config, *checkpoint);
    const int64_t done = trainer.load_checkpoint(checkpoint->string()).step;
    history = truncate_metrics(run / "metrics.jsonl", done);
    if (done == f.iterations) return history.last_eval;
  } else {
    // Checkpoints of an earlier run in this folder would be taken for this one's.
    fs::remove_all(run / "checkpoints");
  }
  nn::write_text_atomically((run / "config.json").string(), config.dump(2) + "\n");
  std::ofstream metrics(run / "metrics.jsonl", checkpoint ? std::ios::app : std::ios::trunc);
  SUBTB_CHECK(metrics.good(), "gflowvlm train: cannot write '", (run / "metrics.jsonl").string(), "'");

  const std::string title =
      f.task + ", " + f.method + (f.off_policy ? " (off-policy)" : "") + ", seed " + std::to_string(seed);
  std::vector<double>& x = history.x;
  std::vector<double>& train_success = history.train_success;
  std::vector<double>& eval_x = history.eval_x;
  std::vector<double>& eval_success = history.eval_success;
  nlohmann::json& last_eval = history.last_eval;
  const int64_t checkpoint_every = f.checkpoint_every > 0 ? f.checkpoint_every : f.eval_every;
  gv::IterationTimes time;  // this session's, summed
  const int64_t first = trainer.iterations_done() + 1;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t it = first; it <= f.iterations; ++it) {
    const gv::IterationMetrics m = trainer.step();
    time += m.time;
    nlohmann::json line = gv::to_json(m);
    line["iteration"] = it;  // updates done, as the plot's x axis counts them
    const double seconds =
        history.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    line["seconds"] = seconds;
    x.push_back(static_cast<double>(it));
    train_success.push_back(m.success_rate);
    if (it % f.eval_every == 0 || it == f.iterations) {
      // Div@N, N more samples of several tasks, is the paper's figure of the final model:
      // measured once, at the last evaluation and in distribution, where it costs least.
      gv::EvalOptions without_div = eval;
      without_div.div_n = 0;
      line["eval"] = gv::to_json(trainer.evaluate(it == f.iterations ? eval : without_div));
      if (ood) line["eval_ood"] = gv::to_json(trainer.evaluate(without_div, *ood));
      last_eval = line;
      eval_x.push_back(static_cast<double>(it));
      eval_success.push_back(line["eval"]["success_rate"].get<double>());
      char ood_text[32] = "";
      if (ood)
        std::snprintf(ood_text, sizeof ood_text, "  ood success %.2f", line["eval_ood"]["success_rate"].get<double>());
      std::printf(
          "seed %d  iteration %4lld/%lld  loss %9.4f  train success %.2f  eval success %.2f  invalid %.2f%s%s  %.0fs\n",
          seed, static_cast<long long>(it), static_cast<long long>(f.iterations), m.loss, m.success_rate,
          line["eval"]["success_rate"].get<double>(), line["eval"]["invalid_rate"].get<double>(), ood_text,
          div_text(line["eval"]).c_str(), seconds);
      std::fflush(stdout);
      write_success_plot(x, train_success, eval_x, eval_success, title, run / "success.png");
    }
    metrics << line.dump() << std::endl;
    SUBTB_CHECK(metrics.good(), "gflowvlm train: writing '", (run / "metrics.jsonl").string(), "' failed");
    // After the metrics line, so that a resumed run finds every line up to its checkpoint.
    if (it % checkpoint_every == 0 || it == f.iterations) {
      trainer.save_checkpoint(gflownet::checkpoint_path(run, it).string(), nlohmann::json{{"config", config}}.dump());
      gflownet::remove_old_checkpoints(run);
    }
  }
  const auto share = [&](double part) { return 100.0 * part / std::max(time.total, 1e-12); };
  std::printf(
      "seed %d  %.2fs per iteration: generate %.0f%%, environment %.0f%%, score %.0f%%, backward %.0f%%, update "
      "%.0f%%\n",
      seed, time.total / static_cast<double>(f.iterations - first + 1), share(time.generate), share(time.environment),
      share(time.score), share(time.backward), share(time.update));
  return last_eval;
}

}  // namespace subtb::cli
