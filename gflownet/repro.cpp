#include "gflownet/repro.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>

#include "envs/render/line_plot.h"
#include "envs/render/png.h"
#include "gflownet/discovery.h"
#include "gflownet/evaluation.h"
#include "tensor/error.h"

namespace subtb::gflownet {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class ExactDistributionProbe final : public Probe {
 public:
  explicit ExactDistributionProbe(const gfn::DiscreteEnv& env) : evaluator_(env) {}

  std::vector<double> measure(Trainer& trainer) override {
    const PolicyMetrics m = evaluator_.evaluate(trainer.policy(), trainer.learned_log_z(), {});
    return {m.l1, std::abs(m.log_z - m.log_z_true)};
  }

 private:
  PolicyEvaluator evaluator_;
};

class DiscoveryProbe final : public Probe {
 public:
  DiscoveryProbe(const gfn::DiscreteEnv& env, const EvalOptions& eval, std::vector<std::string> keys)
      : discovery_(env, eval.top_k), keys_(std::move(keys)) {
    for (const std::string& key : keys_) {
      SUBTB_CHECK(key == "modes_found" || key == "top_k_reward" || key == "spearman",
                  "discovery_probe: unknown metric '", key, "' (choose modes_found, top_k_reward or spearman)");
      if (key == "spearman" && !evaluator_) evaluator_.emplace(env, eval);
    }
  }

  void observe(const Trainer& trainer) override { discovery_.add(trainer.last_samples().terminal_states()); }

  std::vector<double> measure(Trainer& trainer) override {
    std::vector<double> values;
    for (const std::string& key : keys_) {
      if (key == "modes_found") values.push_back(static_cast<double>(discovery_.modes_found()));
      if (key == "top_k_reward") values.push_back(discovery_.mean_reward());
      if (key == "spearman")
        values.push_back(evaluator_->evaluate(trainer.policy(), trainer.learned_log_z(), {}).spearman);
    }
    return values;
  }

 private:
  Discovery discovery_;
  std::optional<PolicyEvaluator> evaluator_;
  std::vector<std::string> keys_;
};

// %.3g, or "nan".
std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

// A file-name-safe form of a title: letters, digits and '.' kept, runs of others as one '-'.
std::string slug(const std::string& text) {
  std::string out;
  for (char ch : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(ch)) || ch == '.';
    if (keep) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

size_t arm_index(const Study& study, const std::string& label) {
  for (size_t i = 0; i < study.arms.size(); ++i) {
    if (study.arms[i].label == label) return i;
  }
  SUBTB_THROW("repro ", study.name, ": the claims name arm '", label, "', which the study does not have");
}

std::vector<const RunRecord*> runs_of(const std::vector<RunRecord>& records, size_t panel, size_t arm) {
  std::vector<const RunRecord*> runs;
  for (const RunRecord& r : records) {
    if (r.panel == panel && r.arm == arm) runs.push_back(&r);
  }
  return runs;
}

double finite_mean(const std::vector<double>& values) {
  double sum = 0;
  int64_t n = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    sum += v;
    ++n;
  }
  return n > 0 ? sum / static_cast<double>(n) : kNaN;
}

// Mean over the runs' evaluations (how fast the arm got there) and the mean at the last
// evaluation (where it ended).
struct Summary {
  double area = kNaN, final = kNaN;
};
Summary summarise(const std::vector<RunRecord>& records, size_t panel, size_t arm, size_t metric) {
  const Spread s = spread_over_runs(runs_of(records, panel, arm), metric);
  if (s.mean.empty()) return {};
  return {finite_mean(s.mean), s.mean.back()};
}

bool better(double a, double b, bool lower_is_better) {
  if (!std::isfinite(a)) return false;
  if (!std::isfinite(b)) return true;
  return lower_is_better ? a < b : a > b;
}

// "median (k/n)" of the steps to reach a threshold, counting runs that never reach it as
// infinitely slow: the median exists when more than half reach it.
std::string steps_cell(std::vector<int64_t> reached, size_t runs) {
  const size_t n = reached.size();
  if (2 * n <= runs) return "not reached (" + std::to_string(n) + "/" + std::to_string(runs) + ")";
  std::sort(reached.begin(), reached.end());
  reached.resize(runs, std::numeric_limits<int64_t>::max());
  const size_t mid = runs / 2;
  const double median = runs % 2 == 1
                            ? static_cast<double>(reached[mid])
                            : 0.5 * (static_cast<double>(reached[mid - 1]) + static_cast<double>(reached[mid]));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f (%zu/%zu)", median, n, runs);
  return buf;
}

// "mean ± sd" over runs of their last value.
std::string final_cell(const std::vector<const RunRecord*>& runs, size_t metric) {
  std::vector<double> last;
  for (const RunRecord* r : runs) {
    if (!r->values[metric].empty() && std::isfinite(r->values[metric].back())) last.push_back(r->values[metric].back());
  }
  if (last.empty()) return "n/a";
  const double mean = finite_mean(last);
  double var = 0;
  for (double v : last) var += (v - mean) * (v - mean);
  const double sd = last.size() > 1 ? std::sqrt(var / static_cast<double>(last.size() - 1)) : 0.0;
  return fmt(mean) + " ± " + fmt(sd);
}

// Text for a Markdown table cell: '|' escaped.
std::string table_cell(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return out;
}

std::string threshold_text(const Metric& m, double t) { return m.label + (m.lower_is_better ? " ≤ " : " ≥ ") + fmt(t); }

void write_figures(const Study& study, const std::vector<RunRecord>& records, const std::filesystem::path& out) {
  for (size_t p = 0; p < study.panels.size(); ++p) {
    for (size_t k = 0; k < study.metrics.size(); ++k) {
      std::vector<render::Series> series;
      std::vector<render::Band> bands;
      for (size_t a = 0; a < study.arms.size(); ++a) {
        const Spread s = spread_over_runs(runs_of(records, p, a), k);
        render::Series line{study.arms[a].label, {}, s.mean, {}};
        for (int64_t step : s.steps) line.x.push_back(static_cast<double>(step));
        bands.push_back({series.size(), s.min, s.max});
        series.push_back(std::move(line));
      }
      render::PlotOptions o;
      o.title = study.panels[p].title + ": " + study.metrics[k].label + " (mean, min-max over seeds)";
      o.x_label = "training step";
      o.y_label = study.metrics[k].label;
      o.log_y = study.metrics[k].log_y;
      render::write_png(render::line_plot(series, o, bands),
                        out / (slug(study.panels[p].title) + "-" + study.metrics[k].key + ".png"));
    }
  }
}

void write_metrics_csv(const Study& study, const std::vector<RunRecord>& records, const std::filesystem::path& path) {
  std::ofstream csv(path);
  SUBTB_CHECK(csv.good(), "repro ", study.name, ": cannot write '", path.string(), "'");
  csv << "panel,arm,seed,step";
  for (const Metric& m : study.metrics) csv << "," << m.key;
  csv << "\n";
  for (const RunRecord& r : records) {
    for (size_t e = 0; e < r.steps.size(); ++e) {
      csv << '"' << study.panels[r.panel].title << "\",\"" << study.arms[r.arm].label << "\"," << r.seed << ","
          << r.steps[e];
      for (size_t k = 0; k < study.metrics.size(); ++k) csv << "," << r.values[k][e];
      csv << "\n";
    }
  }
}

std::string verdict(const Study& study, const std::vector<RunRecord>& records, size_t panel, const Claim& claim) {
  const ClaimCheck check = check_claim(study, records, panel, claim);
  const Metric& m = study.metrics[claim.metric];
  std::ostringstream text;
  if (check.faster && check.better_final) {
    text << "**agrees**: faster and best at the end";
  } else if (check.faster || check.better_final) {
    text << "**partly**: " << (check.faster ? "faster, but not best at the end" : "best at the end, but not faster");
  } else {
    text << "**does not agree**: neither faster nor best at the end";
  }
  text << " (" << m.label << " mean over evaluations / at the end:";
  for (const std::string& label : [&] {
         std::vector<std::string> all{claim.best};
         all.insert(all.end(), claim.others.begin(), claim.others.end());
         return all;
       }()) {
    const Summary s = summarise(records, panel, arm_index(study, label), claim.metric);
    text << " " << label << " " << fmt(s.area) << " / " << fmt(s.final) << ";";
  }
  std::string out = text.str();
  out.back() = ')';
  return out;
}

}  // namespace

std::unique_ptr<Probe> exact_distribution_probe(const gfn::DiscreteEnv& env) {
  return std::make_unique<ExactDistributionProbe>(env);
}

std::unique_ptr<Probe> discovery_probe(const gfn::DiscreteEnv& env, const EvalOptions& eval,
                                       const std::vector<std::string>& keys) {
  return std::make_unique<DiscoveryProbe>(env, eval, keys);
}

std::vector<Metric> exact_distribution_metrics(std::vector<double> l1_thresholds) {
  return {{"l1", "L1", true, std::move(l1_thresholds), true}, {"log_z_error", "log Z error", true, {}, true}};
}

std::vector<RunRecord> run_study(const Study& study, std::ostream* progress) {
  SUBTB_CHECK(study.steps > 0 && study.eval_every > 0 && !study.seeds.empty() && !study.panels.empty() &&
                  !study.arms.empty() && study.make_probe,
              "repro ", study.name, ": a study needs positive steps (", study.steps, ") and eval_every (",
              study.eval_every, "), seeds (", study.seeds.size(), "), panels (", study.panels.size(), "), arms (",
              study.arms.size(), ") and a probe");
  std::vector<RunRecord> records;
  const size_t total = study.panels.size() * study.arms.size() * study.seeds.size();
  for (size_t p = 0; p < study.panels.size(); ++p) {
    const gfn::DiscreteEnv& env = *study.panels[p].env;
    for (size_t a = 0; a < study.arms.size(); ++a) {
      for (uint64_t seed : study.seeds) {
        const auto start = std::chrono::steady_clock::now();
        TrainerConfig config = study.arms[a].config;
        config.seed = seed;
        Trainer trainer(env, config);
        const std::unique_ptr<Probe> probe = study.make_probe(env);
        RunRecord record{p, a, seed, {}, std::vector<std::vector<double>>(study.metrics.size()), 0};
        for (int64_t step = 1; step <= study.steps; ++step) {
          trainer.step();
          probe->observe(trainer);
          if (step % study.eval_every != 0 && step != study.steps) continue;
          const std::vector<double> values = probe->measure(trainer);
          SUBTB_CHECK(values.size() == study.metrics.size(), "repro ", study.name, ": the probe measured ",
                      values.size(), " values for ", study.metrics.size(), " metrics");
          record.steps.push_back(step);
          for (size_t k = 0; k < values.size(); ++k) record.values[k].push_back(values[k]);
        }
        record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        records.push_back(std::move(record));
        if (progress) {
          const RunRecord& r = records.back();
          *progress << "[" << records.size() << "/" << total << "] " << study.panels[p].title << " | "
                    << study.arms[a].label << " | seed " << seed << ":";
          for (size_t k = 0; k < study.metrics.size(); ++k)
            *progress << " " << study.metrics[k].label << " " << fmt(r.values[k].back());
          *progress << "  (" << fmt(r.seconds) << " s)" << std::endl;
        }
      }
    }
  }
  return records;
}

int64_t steps_to_reach(const std::vector<int64_t>& steps, const std::vector<double>& values, double threshold,
                       bool lower_is_better) {
  SUBTB_CHECK(steps.size() == values.size(), "steps_to_reach: ", steps.size(), " steps for ", values.size(), " values");
  for (size_t i = 0; i < steps.size(); ++i) {
    if (std::isfinite(values[i]) && (lower_is_better ? values[i] <= threshold : values[i] >= threshold))
      return steps[i];
  }
  return -1;
}

Spread spread_over_runs(const std::vector<const RunRecord*>& runs, size_t metric) {
  Spread s;
  if (runs.empty()) return s;
  s.steps = runs.front()->steps;
  for (const RunRecord* r : runs) {
    SUBTB_CHECK(r->steps == s.steps, "spread_over_runs: runs evaluated at different steps (", r->steps.size(), " and ",
                s.steps.size(), " evaluations)");
    SUBTB_CHECK(metric < r->values.size(), "spread_over_runs: metric ", metric, " of ", r->values.size());
  }
  for (size_t e = 0; e < s.steps.size(); ++e) {
    double sum = 0, lo = INFINITY, hi = -INFINITY;
    int64_t n = 0;
    for (const RunRecord* r : runs) {
      const double v = r->values[metric][e];
      if (!std::isfinite(v)) continue;
      sum += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      ++n;
    }
    s.mean.push_back(n > 0 ? sum / static_cast<double>(n) : kNaN);
    s.min.push_back(n > 0 ? lo : kNaN);
    s.max.push_back(n > 0 ? hi : kNaN);
  }
  return s;
}

ClaimCheck check_claim(const Study& study, const std::vector<RunRecord>& records, size_t panel, const Claim& claim) {
  SUBTB_CHECK(claim.metric < study.metrics.size(), "repro ", study.name, ": claim '", claim.text, "' names metric ",
              claim.metric, " of ", study.metrics.size());
  const bool lower = study.metrics[claim.metric].lower_is_better;
  const Summary best = summarise(records, panel, arm_index(study, claim.best), claim.metric);
  ClaimCheck check{true, true};
  for (const std::string& label : claim.others) {
    const Summary other = summarise(records, panel, arm_index(study, label), claim.metric);
    check.faster = check.faster && better(best.area, other.area, lower);
    check.better_final = check.better_final && better(best.final, other.final, lower);
  }
  return check;
}

void write_study_report(const Study& study, const std::vector<RunRecord>& records, const ReportOptions& options) {
  std::filesystem::create_directories(options.out);
  write_metrics_csv(study, records, options.out / "metrics.csv");
  write_figures(study, records, options.out);

  std::ostringstream md;
  md << "# " << study.title << "\n\n"
     << study.description << "\n\n## How this was run\n\n```sh\n"
     << options.command << "\n```\n\n- mode: " << options.mode << "\n- " << study.steps
     << " training steps per run, evaluated every " << study.eval_every << " steps; seeds";
  for (uint64_t seed : study.seeds) md << " " << seed;
  md << " (" << study.panels.size() * study.arms.size() * study.seeds.size() << " runs)\n- wall time "
     << fmt(options.seconds) << " s (CPU time " << fmt(options.cpu_seconds) << " s) on "
     << std::thread::hardware_concurrency() << " hardware threads";
  if (double load[1]; getloadavg(load, 1) == 1) md << " (load average " << fmt(load[0]) << " at the end)";
  md << "\n- every evaluation of every run: `metrics.csv`\n\n## Results\n\n"
     << "Steps to reach a threshold: the median over seeds of the first evaluated step at which the "
        "metric reaches it (a seed that never does counts as slowest), with how many seeds reached it. "
        "Final values: mean ± standard deviation over seeds at the last step.\n";

  for (size_t p = 0; p < study.panels.size(); ++p) {
    md << "\n### " << study.panels[p].title << "\n\n| arm |";
    for (const Metric& m : study.metrics) md << " final " << table_cell(m.label) << " |";
    for (const Metric& m : study.metrics)
      for (double t : m.thresholds) md << " steps to " << table_cell(threshold_text(m, t)) << " |";
    md << " s/run |\n|---|";
    size_t columns = study.metrics.size() + 1;
    for (const Metric& m : study.metrics) columns += m.thresholds.size();
    for (size_t c = 0; c < columns; ++c) md << "---:|";
    md << "\n";
    for (size_t a = 0; a < study.arms.size(); ++a) {
      const std::vector<const RunRecord*> runs = runs_of(records, p, a);
      md << "| " << study.arms[a].label << " |";
      for (size_t k = 0; k < study.metrics.size(); ++k) md << " " << final_cell(runs, k) << " |";
      double seconds = 0;
      for (size_t k = 0; k < study.metrics.size(); ++k) {
        for (double t : study.metrics[k].thresholds) {
          std::vector<int64_t> reached;
          for (const RunRecord* r : runs) {
            const int64_t step = steps_to_reach(r->steps, r->values[k], t, study.metrics[k].lower_is_better);
            if (step >= 0) reached.push_back(step);
          }
          md << " " << steps_cell(reached, runs.size()) << " |";
        }
      }
      for (const RunRecord* r : runs) seconds += r->seconds;
      md << " " << fmt(runs.empty() ? kNaN : seconds / static_cast<double>(runs.size())) << " |\n";
    }
    md << "\n";
    for (const Metric& m : study.metrics)
      md << "![" << study.panels[p].title << ": " << m.label << "](" << slug(study.panels[p].title) << "-" << m.key
         << ".png)\n";
  }

  if (!study.claims.empty()) {
    md << "\n## The paper's claims against these runs\n\nA claim holds on a panel when its arm has the best mean "
          "(over seeds) of the metric both averaged over all evaluations (it converged faster) and at the last "
          "step.\n";
    for (const Claim& claim : study.claims) {
      md << "\n**" << claim.text << "**\n\n";
      for (size_t p = 0; p < study.panels.size(); ++p)
        md << "- " << study.panels[p].title << ": " << verdict(study, records, p, claim) << "\n";
    }
  }
  const std::filesystem::path path = options.out / "results.md";
  std::ofstream file(path);
  SUBTB_CHECK(file.good(), "repro ", study.name, ": cannot write '", path.string(), "'");
  file << md.str();
}

}  // namespace subtb::gflownet
