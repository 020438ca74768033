#include "gflownet/training_run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "envs/render/line_plot.h"
#include "envs/render/png.h"
#include "tensor/error.h"

namespace subtb::gflownet {

namespace {

// JSON has no NaN or infinity: such values are written as null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json to_json(const EvalRecord& r) {
  const PolicyMetrics& m = r.metrics;
  return {{"step", r.step},
          {"loss", number(r.loss)},
          {"l1", number(m.l1)},
          {"empirical_l1", number(m.empirical_l1)},
          {"empirical_l1_floor", number(m.empirical_l1_floor)},
          {"samples", m.samples},
          {"log_z", number(m.log_z)},
          {"log_z_true", number(m.log_z_true)},
          {"log_z_error", number(std::abs(m.log_z - m.log_z_true))},
          {"seconds", r.seconds}};
}

std::ofstream open_for_writing(const std::filesystem::path& path) {
  std::ofstream file(path);
  SUBTB_CHECK(file.good(), "training run: cannot write '", path.string(), "'");
  return file;
}

void write_curves(const std::vector<EvalRecord>& records, const std::filesystem::path& path) {
  render::Series loss{"loss", {}, {}, {}}, l1{"L1 (exact)", {}, {}, {}}, empirical{"L1 (samples)", {}, {}, {}};
  for (const EvalRecord& r : records) {
    for (render::Series* s : {&loss, &l1, &empirical}) s->x.push_back(static_cast<double>(r.step));
    loss.y.push_back(r.loss);
    l1.y.push_back(r.metrics.l1);
    empirical.y.push_back(r.metrics.empirical_l1);
  }
  render::PlotOptions options;
  options.title = "Training curves";
  options.x_label = "step";
  options.y_label = "loss, L1";
  options.log_y = true;
  render::write_png(render::line_plot({loss, l1, empirical}, options), path);
}

void print_progress(std::ostream& out, const EvalRecord& r, int64_t total_steps, double steps_per_second) {
  const double eta = static_cast<double>(total_steps - r.step) / steps_per_second;
  char line[256];
  std::snprintf(line, sizeof line,
                "step %6lld/%lld  loss %10.4g  L1 %.4f (samples %.4f, floor %.4f)  log Z %.4f (true %.4f)  "
                "%.1f steps/s  ETA %.0fs",
                static_cast<long long>(r.step), static_cast<long long>(total_steps), r.loss, r.metrics.l1,
                r.metrics.empirical_l1, r.metrics.empirical_l1_floor, r.metrics.log_z, r.metrics.log_z_true,
                steps_per_second, eta);
  out << line << std::endl;
}

}  // namespace

std::vector<EvalRecord> run_training(const gfn::DiscreteEnv& env, Trainer& trainer, const RunOptions& options) {
  SUBTB_CHECK(options.steps > 0 && options.eval_every > 0, "training run: steps and eval_every must be positive, got ",
              options.steps, " and ", options.eval_every);
  SUBTB_CHECK(nlohmann::json::accept(options.config_json), "training run: the config is not valid JSON");
  std::filesystem::create_directories(options.out);
  open_for_writing(options.out / "config.json") << nlohmann::json::parse(options.config_json).dump(2) << "\n";
  std::ofstream metrics = open_for_writing(options.out / "metrics.jsonl");

  const PolicyEvaluator evaluator(env);
  std::vector<EvalRecord> records;
  std::vector<std::int32_t> terminal_states;  // sampled since the previous evaluation
  double loss_sum = 0;
  int64_t loss_count = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  for (int64_t step = 1; step <= options.steps; ++step) {
    loss_sum += trainer.step();
    ++loss_count;
    const std::vector<std::int32_t> terminal = trainer.last_samples().terminal_states();
    terminal_states.insert(terminal_states.end(), terminal.begin(), terminal.end());
    if (step % options.eval_every != 0 && step != options.steps) continue;

    EvalRecord record;
    record.step = step;
    record.loss = loss_sum / static_cast<double>(loss_count);
    record.metrics = evaluator.evaluate(trainer.policy(), trainer.learned_log_z(), terminal_states);
    record.seconds = elapsed();
    records.push_back(record);
    metrics << to_json(record).dump() << std::endl;
    if (options.progress) print_progress(*options.progress, record, options.steps, step / record.seconds);
    write_curves(records, options.out / "curves.png");
    terminal_states.clear();
    loss_sum = 0;
    loss_count = 0;
  }
  return records;
}

}  // namespace subtb::gflownet
