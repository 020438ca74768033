#include "gflownet/training_run.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string_view>

#include "envs/render/line_plot.h"
#include "envs/render/png.h"
#include "gflownet/discovery.h"
#include "nn/atomic_file.h"
#include "nn/safetensors.h"
#include "tensor/error.h"

namespace subtb::gflownet {

namespace {

// JSON has no NaN or infinity: such values are written as null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json to_json(const EvalRecord& r) {
  const PolicyMetrics& m = r.metrics;
  return {{"step", r.step},
          {"loss", number(r.loss)},
          {"skipped", r.skipped},
          {"l1", number(m.l1)},
          {"empirical_l1", number(m.empirical_l1)},
          {"empirical_l1_floor", number(m.empirical_l1_floor)},
          {"samples", m.samples},
          {"log_z", number(m.log_z)},
          {"log_z_true", number(m.log_z_true)},
          {"log_z_error", number(std::abs(m.log_z - m.log_z_true))},
          {"jsd", number(m.jsd)},
          {"spearman", number(m.spearman)},
          {"spearman_exact", m.spearman_exact},
          {"test_states", m.test_states},
          {"modes_found", m.modes_found},
          {"num_modes", m.num_modes},
          {"top_k", m.top_k},
          {"top_k_reward", number(m.top_k_reward)},
          {"top_k_log_reward", number(m.top_k_log_reward)},
          {"seconds", r.seconds}};
}

std::ofstream open_for_writing(const std::filesystem::path& path, std::ios::openmode mode = std::ios::trunc) {
  std::ofstream file(path, std::ios::out | mode);
  SUBTB_CHECK(file.good(), "training run: cannot write '", path.string(), "'");
  return file;
}

double number_or_nan(const nlohmann::json& v) {
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

EvalRecord from_json(const nlohmann::json& j) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  EvalRecord r;
  r.step = j.at("step").get<int64_t>();
  r.loss = number_or_nan(j.at("loss"));
  r.skipped = j.at("skipped").get<int64_t>();
  r.metrics.l1 = number_or_nan(j.at("l1"));
  r.metrics.empirical_l1 = number_or_nan(j.at("empirical_l1"));
  r.metrics.empirical_l1_floor = number_or_nan(j.at("empirical_l1_floor"));
  r.metrics.samples = j.at("samples").get<int64_t>();
  r.metrics.log_z = number_or_nan(j.at("log_z"));
  r.metrics.log_z_true = number_or_nan(j.at("log_z_true"));
  // Records written before these metrics existed lack them.
  const auto optional_number = [&](const char* key) { return j.contains(key) ? number_or_nan(j[key]) : nan; };
  r.metrics.jsd = optional_number("jsd");
  r.metrics.spearman = optional_number("spearman");
  r.metrics.spearman_exact = j.value("spearman_exact", false);
  r.metrics.test_states = j.value("test_states", int64_t{0});
  r.metrics.modes_found = j.value("modes_found", int64_t{0});
  r.metrics.num_modes = j.value("num_modes", int64_t{0});
  r.metrics.top_k = j.value("top_k", int64_t{0});
  r.metrics.top_k_reward = optional_number("top_k_reward");
  r.metrics.top_k_log_reward = optional_number("top_k_log_reward");
  r.seconds = j.at("seconds").get<double>();
  return r;
}

// What the loop accumulates between evaluations, and the time spent so far: the part of
// a run's state that the trainer does not hold.
struct LoopState {
  double loss_sum = 0;  // of the finite losses since the previous evaluation
  int64_t loss_count = 0;
  std::vector<std::int32_t> terminal_states;  // sampled since the previous evaluation
  int64_t skipped = 0;                        // steps with a non-finite loss, in the whole run
  double seconds = 0;                         // before this session
  nlohmann::json discovery;                   // Discovery::to_json of the whole run

  nlohmann::json to_json() const {
    return {{"loss_sum", loss_sum}, {"loss_count", loss_count}, {"terminal_states", terminal_states},
            {"skipped", skipped},   {"seconds", seconds},       {"discovery", discovery}};
  }
  static LoopState from_json(const nlohmann::json& j) {
    return {j.at("loss_sum").get<double>(),
            j.at("loss_count").get<int64_t>(),
            j.at("terminal_states").get<std::vector<std::int32_t>>(),
            j.at("skipped").get<int64_t>(),
            j.at("seconds").get<double>(),
            j.value("discovery", nlohmann::json())};
  }
};

constexpr std::string_view kCheckpointPrefix = "step-", kCheckpointSuffix = ".safetensors";

// The step of a checkpoint file's name, or nothing for other files (temporary ones included).
std::optional<int64_t> checkpoint_step(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  if (!name.starts_with(kCheckpointPrefix) || !name.ends_with(kCheckpointSuffix)) return std::nullopt;
  const std::string_view digits = std::string_view(name).substr(
      kCheckpointPrefix.size(), name.size() - kCheckpointPrefix.size() - kCheckpointSuffix.size());
  int64_t step = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), step);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return step;
}

std::filesystem::path checkpoint_dir(const std::filesystem::path& run_folder) { return run_folder / "checkpoints"; }

// The folder's checkpoints, oldest first.
std::vector<std::filesystem::path> checkpoints(const std::filesystem::path& run_folder) {
  std::vector<std::pair<int64_t, std::filesystem::path>> found;
  const std::filesystem::path dir = checkpoint_dir(run_folder);
  if (std::filesystem::is_directory(dir)) {
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (const auto step = checkpoint_step(entry.path())) found.emplace_back(*step, entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::filesystem::path> paths;
  for (auto& [step, path] : found) paths.push_back(std::move(path));
  return paths;
}

void write_checkpoint(Trainer& trainer, const RunOptions& options, const LoopState& loop) {
  const nlohmann::json state = {{"config", nlohmann::json::parse(options.config_json)}, {"run", loop.to_json()}};
  trainer.save_checkpoint(checkpoint_path(options.out, trainer.steps_done()).string(), state.dump());
  remove_old_checkpoints(options.out);
}

// The records of metrics.jsonl up to `step`; the file is rewritten (atomically) without
// the later ones, which a run stopped after them but before its next checkpoint wrote.
std::vector<EvalRecord> truncate_metrics(const std::filesystem::path& path, int64_t step) {
  std::vector<EvalRecord> records;
  std::ifstream file(path);
  SUBTB_CHECK(file.good(), "training run: cannot read '", path.string(), "'");
  std::string kept, line;
  for (int64_t number = 1; std::getline(file, line); ++number) {
    if (line.empty()) continue;
    try {
      const EvalRecord record = from_json(nlohmann::json::parse(line));
      if (record.step > step) break;
      records.push_back(record);
      kept += line + "\n";
    } catch (const nlohmann::json::exception& e) {
      if (file.peek() == std::ifstream::traits_type::eof()) break;  // torn by a kill mid-write
      SUBTB_THROW("training run: '", path.string(), "' line ", number, " is not a metrics record: ", e.what());
    }
  }
  nn::write_text_atomically(path.string(), kept);
  return records;
}

void write_curves(const std::vector<EvalRecord>& records, const std::filesystem::path& path) {
  render::Series loss{"loss", {}, {}, {}}, l1{"L1 (exact)", {}, {}, {}}, empirical{"L1 (samples)", {}, {}, {}};
  render::Series top_k{"top-k mean reward", {}, {}, {}};
  bool exact = false;
  for (const EvalRecord& r : records) {
    for (render::Series* s : {&loss, &l1, &empirical, &top_k}) s->x.push_back(static_cast<double>(r.step));
    loss.y.push_back(r.loss);
    l1.y.push_back(r.metrics.l1);
    empirical.y.push_back(r.metrics.empirical_l1);
    top_k.y.push_back(r.metrics.top_k_reward);
    exact = exact || std::isfinite(r.metrics.l1);
  }
  render::PlotOptions options;
  options.title = "Training curves";
  options.x_label = "step";
  options.log_y = true;
  // Enumerable spaces show the distance to the target; the others what was found.
  options.y_label = exact ? "loss, L1" : "loss, top-k mean reward";
  render::write_png(render::line_plot(exact ? std::vector{loss, l1, empirical} : std::vector{loss, top_k}, options),
                    path);
}

// The progress line: the metrics the environment allows, in a fixed order.
void print_progress(std::ostream& out, const EvalRecord& r, int64_t total_steps, double steps_per_second) {
  const PolicyMetrics& m = r.metrics;
  char buffer[160];
  const auto put = [&](const char* format, auto... values) {
    std::snprintf(buffer, sizeof buffer, format, values...);
    out << buffer;
  };
  put("step %6lld/%lld  loss %10.4g", static_cast<long long>(r.step), static_cast<long long>(total_steps), r.loss);
  if (std::isfinite(m.l1)) {
    put("  L1 %.4f (samples %.4f, floor %.4f)  JSD %.4f", m.l1, m.empirical_l1, m.empirical_l1_floor, m.jsd);
  }
  put("  log Z %.4f", m.log_z);
  if (std::isfinite(m.log_z_true)) put(" (true %.4f)", m.log_z_true);
  if (m.num_modes > 0)
    put("  modes %lld/%lld", static_cast<long long>(m.modes_found), static_cast<long long>(m.num_modes));
  if (std::isfinite(m.top_k_reward)) put("  top-%lld R %.4g", static_cast<long long>(m.top_k), m.top_k_reward);
  if (std::isfinite(m.spearman)) put("  Spearman %.3f", m.spearman);
  put("  %.1f steps/s  ETA %.0fs", steps_per_second, static_cast<double>(total_steps - r.step) / steps_per_second);
  if (r.skipped > 0) out << "  skipped " << r.skipped << " (non-finite loss)";
  out << std::endl;
}

}  // namespace

std::vector<EvalRecord> run_training(const gfn::DiscreteEnv& env, Trainer& trainer, const RunOptions& options) {
  SUBTB_CHECK(options.steps > 0 && options.eval_every > 0 && options.checkpoint_every >= 0,
              "training run: steps and eval_every must be positive and checkpoint_every non-negative, got ",
              options.steps, ", ", options.eval_every, " and ", options.checkpoint_every);
  SUBTB_CHECK(nlohmann::json::accept(options.config_json), "training run: the config is not valid JSON");
  const int64_t checkpoint_every = options.checkpoint_every > 0 ? options.checkpoint_every : options.eval_every;
  const std::filesystem::path metrics_path = options.out / "metrics.jsonl";

  std::vector<EvalRecord> records;
  LoopState loop;
  if (options.resume) {
    const std::filesystem::path checkpoint = last_checkpoint(options.out);
    const nn::CheckpointInfo info = trainer.load_checkpoint(checkpoint.string());
    try {
      loop = LoopState::from_json(nlohmann::json::parse(info.config).at("run"));
    } catch (const nlohmann::json::exception& e) {
      SUBTB_THROW("training run: '", checkpoint.string(), "' lacks the run loop's state: ", e.what());
    }
    SUBTB_CHECK(options.steps > info.step, "training run: '", checkpoint.string(), "' is at step ", info.step,
                ", so resuming needs more steps than that, got ", options.steps);
    if (std::filesystem::exists(metrics_path)) records = truncate_metrics(metrics_path, info.step);
  } else {
    // Checkpoints of an earlier run in this folder would be taken for this one's.
    for (const std::filesystem::path& stale : checkpoints(options.out)) std::filesystem::remove(stale);
  }
  std::filesystem::create_directories(options.out);
  open_for_writing(options.out / "config.json") << nlohmann::json::parse(options.config_json).dump(2) << "\n";
  std::ofstream metrics = open_for_writing(metrics_path, options.resume ? std::ios::app : std::ios::trunc);

  const PolicyEvaluator evaluator(env, options.eval);
  Discovery discovery(env, options.eval.top_k);
  if (!loop.discovery.is_null()) discovery.restore(loop.discovery);
  const int64_t first_step = trainer.steps_done() + 1;
  const auto start = std::chrono::steady_clock::now();
  const auto session_seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };

  for (int64_t step = first_step; step <= options.steps; ++step) {
    const double loss = trainer.step();
    if (std::isfinite(loss)) {
      loop.loss_sum += loss;
      ++loop.loss_count;
    } else {
      ++loop.skipped;
    }
    const std::vector<std::int32_t> terminal = trainer.last_samples().terminal_states();
    loop.terminal_states.insert(loop.terminal_states.end(), terminal.begin(), terminal.end());
    discovery.add(terminal);
    const bool last = step == options.steps;

    if (step % options.eval_every == 0 || last) {
      EvalRecord record;
      record.step = step;
      record.loss = loop.loss_count > 0 ? loop.loss_sum / static_cast<double>(loop.loss_count)
                                        : std::numeric_limits<double>::quiet_NaN();
      record.skipped = loop.skipped;
      record.metrics = evaluator.evaluate(trainer.policy(), trainer.learned_log_z(), loop.terminal_states);
      record.metrics.modes_found = discovery.modes_found();
      record.metrics.num_modes = env.num_modes();
      record.metrics.top_k = discovery.top_k();
      record.metrics.top_k_reward = discovery.mean_reward();
      record.metrics.top_k_log_reward = discovery.mean_log_reward();
      record.seconds = loop.seconds + session_seconds();
      records.push_back(record);
      metrics << to_json(record).dump() << std::endl;
      if (options.progress) {
        const double rate = static_cast<double>(step - first_step + 1) / session_seconds();
        print_progress(*options.progress, record, options.steps, rate);
      }
      write_curves(records, options.out / "curves.png");
      loop.terminal_states.clear();
      loop.loss_sum = 0;
      loop.loss_count = 0;
    }
    if (step % checkpoint_every == 0 || last) {
      LoopState saved = loop;
      saved.seconds += session_seconds();
      saved.discovery = discovery.to_json();
      write_checkpoint(trainer, options, saved);
    }
  }
  return records;
}

std::filesystem::path checkpoint_path(const std::filesystem::path& run_folder, int64_t step) {
  const std::filesystem::path dir = checkpoint_dir(run_folder);
  std::filesystem::create_directories(dir);
  return dir / (std::string(kCheckpointPrefix) + std::to_string(step) + std::string(kCheckpointSuffix));
}

void remove_old_checkpoints(const std::filesystem::path& run_folder) {
  const std::vector<std::filesystem::path> all = checkpoints(run_folder);
  for (size_t i = 0; i + 2 < all.size(); ++i) std::filesystem::remove(all[i]);
}

std::filesystem::path last_checkpoint(const std::filesystem::path& run_folder) {
  const std::vector<std::filesystem::path> all = checkpoints(run_folder);
  SUBTB_CHECK(!all.empty(), "training run: '", checkpoint_dir(run_folder).string(), "' holds no checkpoint (",
              kCheckpointPrefix, "<step>", kCheckpointSuffix, ")");
  return all.back();
}

std::string saved_config(const std::filesystem::path& run_folder) {
  const std::filesystem::path checkpoint = last_checkpoint(run_folder);
  const nn::Metadata metadata = nn::load_safetensors(checkpoint.string()).metadata;
  const auto it = metadata.find("config");
  SUBTB_CHECK(it != metadata.end(), "training run: '", checkpoint.string(), "' is not a checkpoint (no config)");
  try {
    return nlohmann::json::parse(it->second).at("config").dump();
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("training run: '", checkpoint.string(), "' has no run config: ", e.what());
  }
}

}  // namespace subtb::gflownet
