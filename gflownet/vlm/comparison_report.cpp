#include "gflownet/vlm/comparison_report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "envs/render/line_plot.h"
#include "envs/render/png.h"
#include "nn/atomic_file.h"
#include "tensor/error.h"

namespace subtb::gflownet::vlm {

namespace {

namespace fs = std::filesystem;

using Metric = std::function<double(const RunResult&)>;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  SUBTB_CHECK(in.good(), "gflowvlm comparison: cannot read '", path.string(), "'");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A run's metrics.jsonl and config.json; nullopt when it has not finished.
std::optional<RunResult> load_finished_run(const fs::path& folder) {
  const fs::path metrics = folder / "metrics.jsonl", config = folder / "config.json";
  if (!fs::exists(metrics) || !fs::exists(config)) return std::nullopt;
  std::vector<nlohmann::json> lines;
  std::istringstream text(read_text(metrics));
  int64_t unreadable = 0;  // the line number of an unreadable line; only the last may be
  int64_t number = 0;
  for (std::string line; std::getline(text, line);) {
    ++number;
    if (line.empty()) continue;
    SUBTB_CHECK(unreadable == 0, "gflowvlm comparison: '", metrics.string(), "' line ", unreadable,
                " is not JSON, and lines follow it");
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      unreadable = number;
      continue;
    }
    lines.push_back(std::move(j));
  }
  if (unreadable > 0 || lines.empty()) return std::nullopt;
  const nlohmann::json settings = nlohmann::json::parse(read_text(config), nullptr, false);
  if (!settings.is_object() || !settings.contains("loop") || !settings["loop"].is_object()) return std::nullopt;
  RunResult run = parse_run(lines);
  if (settings["loop"].value("iterations", int64_t{-1}) != run.iterations) return std::nullopt;
  return run;
}

ArmRuns load_arm(const std::string& task, const std::string& arm, const fs::path& folder) {
  ArmRuns a;
  a.task = task;
  a.arm = arm;
  if (fs::exists(folder / "command.txt")) {
    a.command = read_text(folder / "command.txt");
    while (!a.command.empty() && (a.command.back() == '\n' || a.command.back() == '\r')) a.command.pop_back();
  }
  if (const fs::path settings = folder / "settings.json"; fs::exists(settings)) {
    a.settings = nlohmann::json::parse(read_text(settings), nullptr, false);
    SUBTB_CHECK(!a.settings.is_discarded(), "gflowvlm comparison: '", settings.string(), "' is not JSON");
  }
  std::map<int, std::string> seeds;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (const int k = seed_folder_number(name); entry.is_directory() && k >= 0) seeds[k] = name;
  }
  for (const auto& [k, name] : seeds) {
    if (std::optional<RunResult> run = load_finished_run(folder / name)) {
      a.seeds.push_back(name);
      a.runs.push_back(std::move(*run));
    } else {
      a.unfinished.push_back(name);
    }
  }
  return a;
}

// One column of the tables: a task, in or out of distribution.
struct Column {
  std::string task, header;
  bool ood = false;
};
std::vector<Column> all_columns() {
  std::vector<Column> columns;
  for (const ComparisonTask& t : comparison_tasks()) {
    columns.push_back({t.name, t.label, false});
    if (!t.ood_label.empty()) columns.push_back({t.name, t.ood_label, true});
  }
  return columns;
}

const SplitResult& split_of(const RunResult& run, bool ood) { return ood ? run.eval_ood : run.eval; }

class Report {
 public:
  explicit Report(const std::vector<ArmRuns>& arms) : arms_(arms) {}

  const ArmRuns* find(const std::string& task, const std::string& arm) const {
    for (const ArmRuns& a : arms_) {
      if (a.task == task && a.arm == arm) return &a;
    }
    return nullptr;
  }

  Stat stat(const std::string& task, const std::string& arm, const Metric& metric) const {
    const ArmRuns* a = find(task, arm);
    return a != nullptr ? stat_over(a->runs, metric) : Stat{};
  }

  std::map<std::string, Stat> stats(const std::string& task, const Metric& metric) const {
    std::map<std::string, Stat> by_arm;
    for (const ComparisonArm& arm : comparison_arms()) by_arm[arm.name] = stat(task, arm.name, metric);
    return by_arm;
  }

  // The N of the Div@N the runs of a column computed: "4", "4, 16" when they differ, "" when none.
  std::string div_n(const Column& c) const {
    std::set<int64_t> ns;
    for (const ArmRuns& a : arms_) {
      if (a.task != c.task) continue;
      for (const RunResult& r : a.runs) {
        if (split_of(r, c.ood).div_n > 0) ns.insert(split_of(r, c.ood).div_n);
      }
    }
    std::string text;
    for (int64_t n : ns) text += (text.empty() ? "" : ", ") + std::to_string(n);
    return text;
  }

  // Whether some arm of the task has a finished run.
  bool has_runs(const std::string& task) const {
    for (const ArmRuns& a : arms_) {
      if (a.task == task && !a.runs.empty()) return true;
    }
    return false;
  }

  const std::vector<ArmRuns>& arms() const { return arms_; }

 private:
  const std::vector<ArmRuns>& arms_;
};

// Rounded to a whole number; "—" when missing.
std::string whole_number(double value) {
  if (!std::isfinite(value)) return "—";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", value);
  return buf;
}

// Ours, then the paper's figure in parentheses when it has one (in percent when `percent`).
std::string cell(const Stat& s, bool percent, std::optional<double> paper = std::nullopt) {
  std::string text = format_stat(s, percent);
  if (paper) text += " (" + format_number(percent ? *paper / 100 : *paper, percent) + ")";
  return text;
}

Metric success(bool ood) {
  return [ood](const RunResult& r) { return split_of(r, ood).success_rate; };
}
Metric invalid(bool ood) {
  return [ood](const RunResult& r) { return split_of(r, ood).invalid_rate; };
}
Metric diversity(bool ood) {
  return [ood](const RunResult& r) { return split_of(r, ood).div; };
}
Metric category_success(const std::string& key) {
  return [key](const RunResult& r) {
    const auto it = r.eval.category_success.find(key);
    return it != r.eval.category_success.end() ? it->second : kMissing;
  };
}

std::string json_text(const nlohmann::json& settings, const char* key) {
  if (!settings.is_object() || !settings.contains(key)) return "—";
  const nlohmann::json& v = settings[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void card_games_table(const Report& report, std::ostream& md) {
  md << "## Card games: success rate (%)\n\n"
     << "Each cell: ours, the mean ± standard deviation over seeds of the last evaluation of each run, then the "
        "paper's figure in parentheses; — where there are no runs.\n\n| method | NL | NL-OOD | BJ "
        "|\n|---|---:|---:|---:|\n";
  for (const ComparisonArm& arm : comparison_arms()) {
    md << "| " << arm.label << " | "
       << cell(report.stat("numberline", arm.name, success(false)), true,
               paper_figure(arm.name, "numberline", "success"))
       << " | "
       << cell(report.stat("numberline", arm.name, success(true)), true,
               paper_figure(arm.name, "numberline", "ood_success"))
       << " | "
       << cell(report.stat("blackjack", arm.name, success(false)), true, paper_figure(arm.name, "blackjack", "success"))
       << " |\n";
  }
}

void household_table(const Report& report, std::ostream& md) {
  const std::string n = report.div_n({"household", "household", false});
  md << "\n## Household: success rate (%) per task type, in distribution (seen) and out of distribution "
        "(unseen), and Div@N\n\n"
     << "Same cells as above. Avg is the success rate over all evaluation episodes; OOD the success rate on the "
        "unseen split; Div@N ours with N = "
     << (n.empty() ? "—" : n)
     << ", the paper's Div@16 in parentheses. The paper's household rows name SubTB and Var-TB without saying on- "
        "or off-policy; they stand beside the on-policy rows.\n\n| method |";
  for (const HouseholdCategory& c : household_categories()) md << " " << c.header << " |";
  md << " Avg | OOD | Div@N |\n|---|";
  for (size_t i = 0; i < household_categories().size() + 3; ++i) md << "---:|";
  md << "\n";
  for (const ComparisonArm& arm : comparison_arms()) {
    md << "| " << arm.label << " |";
    for (const HouseholdCategory& c : household_categories())
      md << " "
         << cell(report.stat("household", arm.name, category_success(c.key)), true,
                 paper_figure(arm.name, "household", c.key))
         << " |";
    md << " "
       << cell(report.stat("household", arm.name, success(false)), true, paper_figure(arm.name, "household", "success"))
       << " | "
       << cell(report.stat("household", arm.name, success(true)), true,
               paper_figure(arm.name, "household", "ood_success"))
       << " | "
       << cell(report.stat("household", arm.name, diversity(false)), false, paper_figure(arm.name, "household", "div"))
       << " |\n";
  }
}

// A table with one column per task and split, of a metric without paper figures beside it
// (the paper reports no invalid-output rates, and Div@N only for the household world).
void per_column_table(const Report& report, const std::string& heading, const std::string& text,
                      const std::function<Metric(bool)>& metric, bool percent, std::ostream& md) {
  const std::vector<Column> columns = all_columns();
  md << "\n## " << heading << "\n\n" << text << "\n\n| method |";
  for (const Column& c : columns) md << " " << c.header << " |";
  md << "\n|---|";
  for (size_t i = 0; i < columns.size(); ++i) md << "---:|";
  md << "\n";
  for (const ComparisonArm& arm : comparison_arms()) {
    md << "| " << arm.label << " |";
    for (const Column& c : columns) md << " " << cell(report.stat(c.task, arm.name, metric(c.ood)), percent) << " |";
    md << "\n";
  }
}

void diversity_table(const Report& report, std::ostream& md) {
  std::string ns;
  for (const Column& c : all_columns()) {
    const std::string n = report.div_n(c);
    if (!n.empty()) ns += (ns.empty() ? "" : "; ") + c.header + " " + n;
  }
  per_column_table(report, "Diversity: Div@N",
                   "The number of distinct successful trajectories among N samples of a task, averaged over the "
                   "evaluation tasks with at least one success (mean ± standard deviation over seeds; — where no run "
                   "computed it or no task had a success). N: " +
                       (ns.empty() ? std::string("—") : ns) + ". The paper's household Div@16 is in the table above.",
                   diversity, false, md);
}

// Success against environment steps for one task: every fine-tuning arm's mean curve with its
// min-max band, and the SFT model they start from as a flat line. Returns the file name, or
// "" when no fine-tuning arm has a curve.
std::string success_plot(const Report& report, const ComparisonTask& task, const fs::path& out) {
  std::vector<render::Series> series;
  std::vector<render::Band> bands;
  double x_max = 0;
  for (const ComparisonArm& arm : comparison_arms()) {
    const ArmRuns* a = report.find(task.name, arm.name);
    if (arm.name == "sft" || a == nullptr) continue;
    const Curve curve = mean_curve(a->runs);
    if (curve.env_steps.empty()) continue;
    x_max = std::max(x_max, curve.env_steps.back());
    bands.push_back({series.size(), curve.lo, curve.hi});
    series.push_back({arm.label, curve.env_steps, curve.mean, {}});
  }
  if (series.empty()) return "";
  const Stat sft = report.stat(task.name, "sft", success(false));
  if (sft.n > 0) series.push_back({"SFT (where fine-tuning starts)", {0.0, x_max}, {sft.mean, sft.mean}, {}});
  render::PlotOptions o;
  o.title = task.name + ": evaluation success against environment steps";
  o.x_label = "environment steps of training episodes";
  o.y_label = "success rate (in distribution)";
  const std::string name = task.name + "-success-vs-env-steps.png";
  render::write_png(render::line_plot(series, o, bands), out / name);
  return name;
}

void verdicts(const Report& report, std::ostream& md) {
  md << "\n## The paper's findings against these runs\n\n"
        "Computed from the tables above (means over seeds at the last evaluation): a claim holds when every "
        "comparison it makes holds, partly when some do.\n\n"
        "**GFlowNet objectives above PPO above SFT out of distribution** (success rate; every GFlowNet row above "
        "RL4VLM (PPO) and SFT, and PPO above SFT)\n\n";
  for (const ComparisonTask& t : comparison_tasks()) {
    if (t.ood_label.empty()) continue;
    if (!report.has_runs(t.name)) {
      md << "- " << t.ood_label << ": no runs yet.\n";
      continue;
    }
    md << "- " << t.ood_label << ": "
       << describe(judge(report.stats(t.name, success(true)), gflownet_ppo_sft_claim()), true) << "\n";
  }
  md << "\n**Off-policy above on-policy** (each objective with the expert's trajectories against without; "
        "success rate out of distribution where the task has such a split, as the paper's gain is reported, "
        "else in distribution)\n\n";
  for (const ComparisonTask& t : comparison_tasks()) {
    const bool ood = !t.ood_label.empty();
    if (!report.has_runs(t.name)) {
      md << "- " << (ood ? t.ood_label : t.label) << ": no runs yet.\n";
      continue;
    }
    md << "- " << (ood ? t.ood_label : t.label) << ": "
       << describe(judge(report.stats(t.name, success(ood)), off_policy_claim()), true) << "\n";
  }
  md << "\n**Higher diversity (Div@N) for GFlowNet objectives than PPO and SFT** (in distribution; every GFlowNet "
        "row above both baselines)\n\n";
  for (const ComparisonTask& t : comparison_tasks()) {
    if (!report.has_runs(t.name)) {
      md << "- " << t.label << ": no runs yet.\n";
      continue;
    }
    const std::string n = report.div_n({t.name, t.label, false});
    md << "- " << t.label << " (Div@" << (n.empty() ? "N" : n)
       << "): " << describe(judge(report.stats(t.name, diversity(false)), gflownet_above_baselines_claim()), false)
       << "\n";
  }
}

void how_it_was_run(const Report& report, std::ostream& md) {
  md << "\n## How the runs were made\n\nThe commands, as each arm's `command.txt` records them (the SFT stage is "
        "trained by the first command that needs it and reused by the others):\n\n```sh\n";
  std::set<std::string> seen;
  for (const ArmRuns& a : report.arms()) {
    if (!a.command.empty() && seen.insert(a.command).second) md << a.command << "\n";
  }
  md << "```\n\nSettings per arm (`settings.json`): iterations and learning rate are the SFT stage's for SFT and "
        "the fine-tuning's otherwise; max steps 0 means the task's own limit.\n\n"
        "| task | arm | mode | model | iterations | lr | episodes | per task | max steps | max new tokens | "
        "temperature | eval every | eval episodes | eval temperature | Div@N n | device |\n"
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
  for (const ArmRuns& a : report.arms()) {
    md << "| " << a.task << " | " << a.arm << " |";
    for (const char* key :
         {"mode", "model", "iterations", "lr", "episodes", "episodes_per_task", "max_steps", "max_new_tokens",
          "temperature", "eval_every", "eval_episodes", "eval_temperature", "div_n", "device"})
      md << " " << json_text(a.settings, key) << " |";
    md << "\n";
  }
  md << "\nRuns and wall time (of each run alone: a fine-tuning run's time leaves out the SFT stage it starts "
        "from). Unfinished runs are left out of every table.\n\n"
        "| task | arm | finished seeds | unfinished | environment steps (mean) | wall s per seed (mean) | "
        "wall s (sum) |\n|---|---|---|---|---:|---:|---:|\n";
  for (const ArmRuns& a : report.arms()) {
    std::string seeds, unfinished;
    for (const std::string& s : a.seeds) seeds += (seeds.empty() ? "" : ", ") + s;
    for (const std::string& s : a.unfinished) unfinished += (unfinished.empty() ? "" : ", ") + s;
    const Stat steps =
        stat_over(a.runs, [](const RunResult& r) { return r.env_steps.empty() ? kMissing : r.env_steps.back(); });
    const Stat seconds = stat_over(a.runs, [](const RunResult& r) { return r.seconds; });
    md << "| " << a.task << " | " << a.arm << " | " << (seeds.empty() ? "—" : seeds) << " | "
       << (unfinished.empty() ? "—" : unfinished) << " | " << whole_number(steps.mean) << " | "
       << whole_number(seconds.mean) << " | " << whole_number(seconds.mean * static_cast<double>(seconds.n)) << " |\n";
  }
}

}  // namespace

int seed_folder_number(std::string_view name) {
  if (!name.starts_with("seed") || name.size() == 4) return -1;
  int k = -1;
  const char* end = name.data() + name.size();
  const auto [last, error] = std::from_chars(name.data() + 4, end, k);
  return error == std::errc() && last == end && k >= 0 ? k : -1;
}

std::vector<ArmRuns> load_comparison_runs(const fs::path& out) {
  std::vector<ArmRuns> arms;
  for (const ComparisonTask& task : comparison_tasks()) {
    for (const ComparisonArm& arm : comparison_arms()) {
      const fs::path folder = out / "runs" / task.name / arm.name;
      if (fs::is_directory(folder)) arms.push_back(load_arm(task.name, arm.name, folder));
    }
  }
  return arms;
}

void write_comparison_report(const fs::path& out, const std::vector<ArmRuns>& arms) {
  fs::create_directories(out);
  const Report report(arms);
  std::ostringstream md;
  md << "# GFlowVLM: SFT, PPO and GFlowNet fine-tuning of the compact VLM\n\n"
     << "GFlowVLM (Kang et al., CVPR 2025) fine-tunes a vision-language model that plays a multi-step task with "
        "GFlowNet objectives (Var-TB, SubTB, DB; on-policy, or off-policy with the expert's trajectories beside "
        "failed ones) and compares it with SFT and with PPO as RL4VLM trains it, in and out of distribution. "
        "Here every row runs the paper's pipeline on this project's compact VLM (`nn/vision/vlm.h`), not "
        "LLaVA-1.6-Mistral-7B: SFT on expert trajectories with [DONE] is the SFT row, and every other row "
        "fine-tunes that SFT model (same seed). NumberLine and BlackJack follow RL4VLM's environments; the "
        "household world is a procedural re-creation of ALFWorld's text domain with a schematic image "
        "(`envs/household/`). Absolute rates are therefore not comparable with the paper's, which are given for "
        "reference; the orderings are what is compared. `docs/gflowvlm.md` explains the method and the "
        "command.\n\nRegenerate this page from the runs under `runs/` with `subtb repro gflowvlm-tables --out "
     << out.string() << "`.\n\n";
  card_games_table(report, md);
  household_table(report, md);
  per_column_table(report, "Invalid outputs (% of answers)",
                   "Answers whose action could not be parsed as one admissible action, in the last evaluation "
                   "(mean ± standard deviation over seeds). The paper reports none.",
                   invalid, true, md);
  diversity_table(report, md);

  md << "\n## Success against environment steps\n\n"
        "Training efficiency: the evaluation success of each fine-tuning arm (mean over seeds, min-max band) "
        "against the environment steps its training episodes have taken; the flat line is the SFT model every "
        "arm starts from.\n\n";
  for (const ComparisonTask& t : comparison_tasks()) {
    const std::string png = success_plot(report, t, out);
    md << (png.empty() ? "- " + t.name + ": no fine-tuning runs with environment steps yet.\n"
                       : "![" + t.name + ": success against environment steps](" + png + ")\n");
  }
  verdicts(report, md);
  how_it_was_run(report, md);

  const fs::path path = out / "results.md";
  nn::write_text_atomically(path.string(), md.str());
}

}  // namespace subtb::gflownet::vlm
