#include "apps/subtb/repro_gflowvlm.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "apps/subtb/gflowvlm_run.h"
#include "gflownet/training_run.h"
#include "gflownet/vlm/comparison_report.h"
#include "gflownet/vlm/paper_comparison.h"
#include "nn/atomic_file.h"
#include "tensor/error.h"

namespace subtb::cli {

namespace {

namespace fs = std::filesystem;
namespace gv = gflownet::vlm;

// Every setting of a mode: each run of the study takes its settings from here and nowhere
// else, and settings.json beside each arm's runs records what was applied.
struct ModeSettings {
  const char* name;
  const char* model;  // vlm_preset of the SFT stage; fine-tuning inherits its model and tokenizer
  int seeds;          // when --seeds is not given
  // The SFT stage: token cross-entropy on expert episodes with [DONE]; the "SFT" row, and
  // the model every other row starts from (same seed).
  int64_t sft_iterations;
  double sft_lr;
  // Fine-tuning from the SFT stage: ppo, vartb, subtb, db (on- or off-policy). The rate is
  // the paper's: at 1e-4, 10 of 24 quick runs diverged into answers that name no action
  // (docs/results/gflowvlm/README.md).
  int64_t iterations;
  double lr;
  // Both stages: episodes per iteration, of which episodes_per_task share a task reset
  // (Var-TB's groups); the episode step limit; tokens per answer; the sampling temperature.
  int64_t episodes;
  int64_t episodes_per_task;
  int card_max_steps;       // NumberLine, BlackJack (the paper: 10)
  int household_max_steps;  // the household world (the paper: 35)
  int64_t max_new_tokens;   // 0: the task's (default_max_new_tokens: 64, household 96)
  double temperature;       // RL4VLM's 0.2
  // Evaluation: fine-tuning every eval_every iterations (the success-against-steps curves)
  // and at its end; the SFT stage at its end only.
  int64_t eval_every;
  int64_t eval_episodes;
  // BlackJack's: its episodes are one or two steps, so evaluating many deals is cheap, and 32
  // would leave a noise of about 9 points on rates near 40%.
  int64_t blackjack_eval_episodes;
  double eval_temperature;
  int64_t div_n;      // Div@N: samples per task (the paper: 16)
  int64_t div_tasks;  // and tasks sampled
};

// Quick: the tiny model, minutes per arm on two CPU cores.
constexpr ModeSettings kQuick{.name = "quick",
                              .model = "tiny",
                              .seeds = 2,
                              .sft_iterations = 400,
                              .sft_lr = 1e-3,
                              .iterations = 100,
                              .lr = 1e-5,
                              .episodes = 4,
                              .episodes_per_task = 2,
                              .card_max_steps = 10,
                              .household_max_steps = 12,  // as `subtb gflowvlm train --quick`
                              .max_new_tokens = 0,
                              .temperature = 0.2,
                              .eval_every = 50,
                              .eval_episodes = 32,
                              .blackjack_eval_episodes = 256,
                              .eval_temperature = 0.2,
                              .div_n = 4,
                              .div_tasks = 8};

// Full: the small model, longer runs and larger evaluations; meant for a GPU (--device cuda).
constexpr ModeSettings kFull{.name = "full",
                             .model = "small",
                             .seeds = 3,
                             .sft_iterations = 2000,
                             .sft_lr = 1e-3,
                             .iterations = 500,
                             .lr = 1e-5,
                             .episodes = 16,
                             .episodes_per_task = 4,
                             .card_max_steps = 10,
                             .household_max_steps = 35,
                             .max_new_tokens = 0,
                             .temperature = 0.2,
                             .eval_every = 50,
                             .eval_episodes = 200,
                             .blackjack_eval_episodes = 1000,
                             .eval_temperature = 0.2,
                             .div_n = 16,
                             .div_tasks = 16};

struct ReproFlags {
  std::string task = "numberline";
  std::string method = "all";
  bool off_policy = false;
  int seeds = 0;       // 0: the mode's
  bool quick = false;  // the default mode; the flag exists to say so on the command line
  bool full = false;
  std::string device = "cpu";
  std::string out;
};

const fs::path kDefaultOut = "docs/results/gflowvlm";

// The command line that reproduces an invocation, spelled with the flags that change it.
std::string command_line(const ReproFlags& f, const CLI::App& app) {
  std::string cmd = "subtb repro gflowvlm --task " + f.task + " --method " + f.method;
  if (f.off_policy) cmd += " --off-policy";
  cmd += f.full ? " --full" : " --quick";
  if (app.count("--seeds") > 0) cmd += " --seeds " + std::to_string(f.seeds);
  if (app.count("--device") > 0) cmd += " --device " + f.device;
  if (app.count("--out") > 0) cmd += " --out " + f.out;
  return cmd;
}

// The arms of --method (all: the paper's rows, the off-policy ones with --off-policy), SFT first.
std::vector<const gv::ComparisonArm*> arms_of(const std::string& method, bool off_policy) {
  std::vector<const gv::ComparisonArm*> arms;
  if (method != "all") {
    SUBTB_CHECK(!off_policy || (method != "sft" && method != "ppo"), "repro gflowvlm: --off-policy applies to vartb, ",
                "subtb and db (the paper's off-policy rows), not to --method ", method);
    arms.push_back(&gv::comparison_arm(method, off_policy));
    return arms;
  }
  for (const gv::ComparisonArm& arm : gv::comparison_arms()) {
    if (!arm.off_policy || off_policy) arms.push_back(&arm);
  }
  return arms;
}

// One run's options: the mode's settings for the arm's stage.
GflowVlmRunOptions run_options(const ModeSettings& m, const std::string& task, const gv::ComparisonArm& arm,
                               const std::string& device, const fs::path& from_sft) {
  const bool sft = arm.method == "sft";
  GflowVlmRunOptions o;
  o.task = task;
  o.method = arm.method;
  o.off_policy = arm.off_policy;
  // GFlowVLM's off-policy expert for BlackJack stands at 17 or more, else hits; the SFT data
  // comes from the task's default player (basic strategy).
  if (arm.off_policy && task == "blackjack") o.expert = "stand17";
  o.config = m.model;
  o.from_sft = sft ? "" : from_sft.string();
  o.iterations = sft ? m.sft_iterations : m.iterations;
  o.lr = sft ? m.sft_lr : m.lr;
  o.episodes = m.episodes;
  o.episodes_per_task = m.episodes_per_task;
  o.max_steps = task == "household" ? m.household_max_steps : m.card_max_steps;
  o.max_new_tokens = m.max_new_tokens;
  o.temperature = m.temperature;
  o.eval_every = sft ? m.sft_iterations : m.eval_every;
  o.eval_episodes = task == "blackjack" ? m.blackjack_eval_episodes : m.eval_episodes;
  o.eval_temperature = m.eval_temperature;
  o.div_n = m.div_n;
  o.div_tasks = m.div_tasks;
  o.device = device;
  return o;
}

// The settings a run was made with, as settings.json and each seed's repro.json record them.
// The device is left out: it changes where a run is made, not what it is.
nlohmann::json settings_json(const ModeSettings& m, const GflowVlmRunOptions& o) {
  nlohmann::json settings = {
      {"mode", m.name},
      {"model", o.config},
      {"task", o.task},
      {"method", o.method},
      {"off_policy", o.off_policy},
      {"iterations", o.iterations},
      {"lr", o.lr},
      {"episodes", o.episodes},
      {"episodes_per_task", o.episodes_per_task},
      {"max_steps", o.max_steps},
      {"max_new_tokens", o.max_new_tokens > 0 ? o.max_new_tokens : default_max_new_tokens(o.task)},
      {"temperature", o.temperature},
      {"eval_every", o.eval_every},
      {"eval_episodes", o.eval_episodes},
      {"eval_temperature", o.eval_temperature.value_or(o.temperature)},
      {"eval_invalid", o.eval_invalid},
      {"div_n", o.div_n},
      {"div_tasks", o.div_tasks}};
  if (!o.expert.empty()) settings["expert"] = o.expert;  // only when not the task's default
  return settings;
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in.good()) return nullptr;
  std::ostringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

void write_text(const fs::path& path, const std::string& text) { nn::write_text_atomically(path.string(), text); }

// A seed folder that holds a run this study finished with these settings: repro.json (written
// after the run ends) matches, and config.json and the final checkpoint are still there.
bool finished_with(const fs::path& run, const nlohmann::json& stamp) {
  const nlohmann::json config = read_json(run / "config.json");
  if (read_json(run / "repro.json") != stamp || !config.is_object() || !config.contains("loop")) return false;
  return fs::exists(gflownet::checkpoint_path(run, config["loop"].value("iterations", int64_t{-1})));
}

// Trains one seed afresh (a stale checkpoint left in the folder would be taken for the
// final one by a later --from-sft) and marks it finished.
void train_seed(const GflowVlmRunOptions& o, int seed, const fs::path& run, const nlohmann::json& stamp) {
  fs::remove_all(run);
  run_gflowvlm_seed(o, seed, run);
  write_text(run / "repro.json", stamp.dump(2) + "\n");
}

// The arm folder's record of the command and its settings.
void write_arm_record(const fs::path& arm_dir, const std::string& command, const nlohmann::json& settings) {
  fs::create_directories(arm_dir);
  write_text(arm_dir / "command.txt", command + "\n");
  write_text(arm_dir / "settings.json", settings.dump(2) + "\n");
}

void run_study(const ReproFlags& f, const CLI::App& app) {
  const ModeSettings& mode = f.full ? kFull : kQuick;
  const int seeds = f.seeds > 0 ? f.seeds : mode.seeds;
  const fs::path out = f.out.empty() ? kDefaultOut : fs::path(f.out);
  const fs::path task_dir = out / "runs" / f.task;
  const std::vector<const gv::ComparisonArm*> arms = arms_of(f.method, f.off_policy);
  const std::string command = command_line(f, app);
  std::printf("GFlowVLM reproduction (%s) on %s: %zu arm(s) x %d seed(s) into %s\n", mode.name, f.task.c_str(),
              arms.size(), seeds, task_dir.string().c_str());

  // The SFT stage of every seed, reused where a finished run with the same settings is there.
  const gv::ComparisonArm& sft = gv::comparison_arm("sft", false);
  const GflowVlmRunOptions sft_options = run_options(mode, f.task, sft, f.device, {});
  bool sft_trained = false;
  for (int seed = 0; seed < seeds; ++seed) {
    const fs::path run = task_dir / "sft" / ("seed" + std::to_string(seed));
    nlohmann::json stamp = settings_json(mode, sft_options);
    stamp["seed"] = seed;
    if (finished_with(run, stamp)) {
      std::printf("SFT stage, seed %d: reusing the finished run in %s\n", seed, run.string().c_str());
      continue;
    }
    if (!sft_trained) {
      nlohmann::json settings = settings_json(mode, sft_options);
      settings["device"] = f.device;
      write_arm_record(task_dir / "sft", command, settings);
      sft_trained = true;
    }
    std::printf("SFT stage, seed %d: %lld iterations\n", seed, static_cast<long long>(sft_options.iterations));
    std::fflush(stdout);
    train_seed(sft_options, seed, run, stamp);
  }

  for (const gv::ComparisonArm* arm : arms) {
    if (arm->method == "sft") continue;
    const fs::path arm_dir = task_dir / arm->name;
    nlohmann::json settings = settings_json(mode, run_options(mode, f.task, *arm, f.device, {}));
    settings["device"] = f.device;
    write_arm_record(arm_dir, command, settings);
    // The arm is run again as a whole: seeds past this invocation's would mix in runs of
    // another command.
    for (const fs::directory_entry& entry : fs::directory_iterator(arm_dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && gv::seed_folder_number(name) >= seeds) {
        std::printf("%s: removing %s (this command runs seeds 0..%d)\n", arm->name.c_str(), name.c_str(), seeds - 1);
        fs::remove_all(entry.path());
      }
    }
    const auto start = std::chrono::steady_clock::now();
    for (int seed = 0; seed < seeds; ++seed) {
      const std::string seed_dir = "seed" + std::to_string(seed);
      const GflowVlmRunOptions options = run_options(mode, f.task, *arm, f.device, task_dir / "sft" / seed_dir);
      nlohmann::json stamp = settings_json(mode, options);
      stamp["seed"] = seed;
      std::printf("%s, seed %d: %lld iterations from %s\n", arm->label.c_str(), seed,
                  static_cast<long long>(options.iterations), options.from_sft.c_str());
      std::fflush(stdout);
      train_seed(options, seed, arm_dir / seed_dir, stamp);
    }
    std::printf("%s: %d seed(s) in %.0f s\n", arm->label.c_str(), seeds,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  gv::write_comparison_report(out, gv::load_comparison_runs(out));
  std::printf("Wrote %s\n", (out / "results.md").string().c_str());
}

}  // namespace

void add_repro_gflowvlm_commands(CLI::App& repro) {
  static ReproFlags f;
  CLI::App* study = repro.add_subcommand(
      "gflowvlm",
      "GFlowVLM paper: SFT, then PPO and Var-TB/SubTB/DB (on- or off-policy) from it, on NumberLine, BlackJack or "
      "the household world; per seed, into <out>/runs/<task>/<arm>/seed<k>, then the tables");
  study->add_option("--task", f.task, "numberline, blackjack or household")
      ->check(CLI::IsMember({"numberline", "blackjack", "household"}))
      ->capture_default_str();
  study->add_option("--method", f.method, "sft, ppo, vartb, subtb, db, or all (the paper's rows)")
      ->check(CLI::IsMember({"sft", "ppo", "vartb", "subtb", "db", "all"}))
      ->capture_default_str();
  study->add_flag("--off-policy", f.off_policy,
                  "The GFlowNet objectives with expert trajectories beside failed ones (with all: the off-policy "
                  "rows as well)");
  study->add_option("--seeds", f.seeds, "Seeds (default: the mode's)")->check(CLI::Range(1, 100));
  CLI::Option* quick =
      study->add_flag("--quick", f.quick, "The tiny model, minutes per arm on two CPU cores (the default)");
  study->add_flag("--full", f.full, "The small model, longer runs and evaluations; meant for a GPU")->excludes(quick);
  study->add_option("--device", f.device, "cpu or cuda[:N]")->capture_default_str();
  study->add_option("--out", f.out, "Study folder (default docs/results/gflowvlm)");
  study->callback([study] { run_study(f, *study); });

  static std::string tables_out;
  CLI::App* tables = repro.add_subcommand(
      "gflowvlm-tables",
      "GFlowVLM paper: gather the runs of `subtb repro gflowvlm` into results.md (tables beside the paper's, "
      "success against environment steps, verdicts)");
  tables->add_option("--out", tables_out, "Study folder (default docs/results/gflowvlm)");
  tables->callback([] {
    const fs::path out = tables_out.empty() ? kDefaultOut : fs::path(tables_out);
    SUBTB_CHECK(fs::is_directory(out / "runs"), "repro gflowvlm-tables: '", (out / "runs").string(),
                "' holds no runs (run `subtb repro gflowvlm` first)");
    gv::write_comparison_report(out, gv::load_comparison_runs(out));
    std::printf("Wrote %s\n", (out / "results.md").string().c_str());
  });
}

}  // namespace subtb::cli
