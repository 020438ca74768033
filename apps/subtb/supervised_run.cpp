#include "apps/subtb/supervised_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "apps/subtb/cli_util.h"
#include "envs/render/png.h"
#include "gflownet/training_run.h"
#include "nn/atomic_file.h"
#include "tensor/error.h"

namespace subtb::cli {

namespace {

namespace fs = std::filesystem;

// JSON has no NaN: a missing value is null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

double number_or_nan(const nlohmann::json& v) {
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

// What the loss plot shows, and the run's seconds at its latest record.
struct History {
  std::vector<double> steps, loss, eval_steps, eval_loss;
  double seconds = 0;

  void add(int64_t step, double train_loss, double eval, double elapsed) {
    steps.push_back(static_cast<double>(step));
    loss.push_back(train_loss);
    if (std::isfinite(eval)) {
      eval_steps.push_back(static_cast<double>(step));
      eval_loss.push_back(eval);
    }
    seconds = elapsed;
  }
};

// Reads metrics.jsonl up to `step` into a History and rewrites it (atomically) without the
// later lines, which a run stopped after them but before its next checkpoint wrote.
History truncate_metrics(const fs::path& path, int64_t step, const std::string& command) {
  History history;
  std::ifstream file(path);
  SUBTB_CHECK(file.good(), command, ": cannot read '", path.string(), "'");
  std::string kept, line;
  for (int64_t number = 1; std::getline(file, line); ++number) {
    if (line.empty()) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.at("step").get<int64_t>() > step) break;
      history.add(j.at("step").get<int64_t>(), number_or_nan(j.at("loss")), number_or_nan(j.at("val_loss")),
                  j.at("seconds").get<double>());
      kept += line + "\n";
    } catch (const nlohmann::json::exception& e) {
      if (file.peek() == std::ifstream::traits_type::eof()) break;  // torn by a kill mid-write
      SUBTB_THROW(command, ": '", path.string(), "' line ", number, " is not a metrics record: ", e.what());
    }
  }
  nn::write_file_atomically(path.string(), [&](nn::FileSink& sink) { sink.write(kept.data(), kept.size()); });
  return history;
}

std::ofstream open_for_writing(const fs::path& path, std::ios::openmode mode, const std::string& command) {
  std::ofstream file(path, std::ios::out | mode);
  SUBTB_CHECK(file.good(), command, ": cannot write '", path.string(), "'");
  return file;
}

}  // namespace

int64_t parameter_count(nn::Module& model) {
  int64_t count = 0;
  for (const Tensor& p : model.parameters()) count += p.numel();
  return count;
}

void run_supervised(const SupervisedTrainer& trainer, const SupervisedRunOptions& o) {
  const fs::path metrics_path = o.out / "metrics.jsonl";
  History history;
  if (o.resume) {
    const fs::path checkpoint = gflownet::last_checkpoint(o.out);
    const int64_t step = trainer.load_checkpoint(checkpoint.string()).step;
    SUBTB_CHECK(o.steps > step, o.command, ": '", checkpoint.string(), "' is at step ", step,
                ", the run's last; nothing to resume");
    if (fs::exists(metrics_path)) history = truncate_metrics(metrics_path, step, o.command);
  } else {
    // Checkpoints of an earlier run in this folder would be taken for this one's.
    fs::remove_all(o.out / "checkpoints");
    fs::create_directories(o.out);
    open_for_writing(o.out / "config.json", std::ios::trunc, o.command)
        << nlohmann::json::parse(o.config_json).dump(2) << "\n";
  }
  std::ofstream metrics = open_for_writing(metrics_path, o.resume ? std::ios::app : std::ios::trunc, o.command);

  const auto seconds_since = [](auto start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const int64_t first_step = trainer.steps_done() + 1;
  const double earlier_seconds = history.seconds;
  double loss_sum = 0;
  int64_t loss_count = 0;
  const auto start = std::chrono::steady_clock::now();
  auto window_start = start;
  for (int64_t step = first_step; step <= o.steps; ++step) {
    const double lr = trainer.current_lr();
    loss_sum += trainer.step();
    ++loss_count;
    const bool eval = step % o.eval_every == 0 || step == o.steps;
    if (step % o.log_every != 0 && !eval) continue;

    const double items_per_second =
        static_cast<double>(loss_count * o.items_per_step) / std::max(seconds_since(window_start), 1e-9);
    const double loss = loss_sum / static_cast<double>(loss_count);
    const double eval_loss = eval ? trainer.evaluate() : std::numeric_limits<double>::quiet_NaN();
    const double session = seconds_since(start);
    const double eta = session / static_cast<double>(step - first_step + 1) * static_cast<double>(o.steps - step);
    history.add(step, loss, eval_loss, earlier_seconds + session);
    metrics << nlohmann::json{{"step", step},
                              {"loss", number(loss)},
                              {"val_loss", number(eval_loss)},
                              {"lr", lr},
                              {o.items + "_per_second", items_per_second},
                              {"seconds", history.seconds}}
                   .dump()
            << std::endl;
    char line[256];
    int n = std::snprintf(line, sizeof line, "step %6lld/%lld  loss %.4f", static_cast<long long>(step),
                          static_cast<long long>(o.steps), loss);
    if (std::isfinite(eval_loss))
      n += std::snprintf(line + n, sizeof line - n, "  %s %.4f", o.eval_name.c_str(), eval_loss);
    std::snprintf(line + n, sizeof line - n, "  lr %.2e  %.1f %s/s  ETA %s", lr, items_per_second, o.items.c_str(),
                  format_duration(eta).c_str());
    std::cout << line << std::endl;
    if (eval) {
      render::write_png(render::line_plot({{"train", history.steps, history.loss, {}},
                                           {o.eval_name, history.eval_steps, history.eval_loss, {}}},
                                          o.plot),
                        o.out / "loss.png");
      trainer.save_checkpoint(gflownet::checkpoint_path(o.out, trainer.steps_done()).string(), o.config_json);
      gflownet::remove_old_checkpoints(o.out);
      if (o.on_checkpoint) o.on_checkpoint();
    }
    loss_sum = 0;
    loss_count = 0;
    window_start = std::chrono::steady_clock::now();
  }
}

}  // namespace subtb::cli
