#include "gflownet/vlm/paper_comparison.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "tensor/error.h"

namespace subtb::gflownet::vlm {

namespace {

// The paper's figures (../shared/reference/vlm-tasks.md). Its household table names SubTB and
// Var-TB without saying on- or off-policy; they stand beside the on-policy rows here.
struct PaperFigure {
  const char* arm;
  const char* task;
  const char* key;
  double value;
};

constexpr PaperFigure kCardGames[] = {
    {"sft", "numberline", "success", 24.8},
    {"sft", "numberline", "ood_success", 0.0},
    {"sft", "blackjack", "success", 23.1},
    {"ppo", "numberline", "success", 89.4},
    {"ppo", "numberline", "ood_success", 3.1},
    {"ppo", "blackjack", "success", 40.2},
    {"vartb", "numberline", "success", 100.0},
    {"vartb", "numberline", "ood_success", 6.2},
    {"vartb", "blackjack", "success", 41.4},
    {"subtb", "numberline", "success", 100.0},
    {"subtb", "numberline", "ood_success", 7.0},
    {"subtb", "blackjack", "success", 41.7},
    {"db", "numberline", "success", 100.0},
    {"db", "numberline", "ood_success", 9.1},
    {"db", "blackjack", "success", 42.2},
    {"vartb-offpolicy", "numberline", "success", 100.0},
    {"vartb-offpolicy", "numberline", "ood_success", 17.3},
    {"vartb-offpolicy", "blackjack", "success", 43.0},
    {"subtb-offpolicy", "numberline", "success", 100.0},
    {"subtb-offpolicy", "numberline", "ood_success", 16.7},
    {"subtb-offpolicy", "blackjack", "success", 42.4},
    {"db-offpolicy", "numberline", "success", 100.0},
    {"db-offpolicy", "numberline", "ood_success", 18.6},
    {"db-offpolicy", "blackjack", "success", 43.8},
};

// ALFWorld: the six task types, Avg, OOD (unseen scenes) and Div@16, per row.
struct HouseholdRow {
  const char* arm;
  double by_category[6];
  double avg, ood, div;
};
constexpr HouseholdRow kHousehold[] = {
    {"sft", {39.2, 0.0, 14.4, 11.1, 0.0, 28.6}, 17.1, 3.3, 1.06},
    {"ppo", {47.4, 14.7, 10.4, 14.4, 18.8, 18.0}, 21.7, 4.8, 1.12},
    {"subtb", {50.0, 23.1, 10.0, 18.7, 24.3, 23.7}, 26.1, 12.3, 1.40},
    {"vartb", {50.0, 22.2, 10.2, 16.1, 22.7, 21.9}, 25.7, 10.9, 1.41},
};

// A number of a JSON object, or missing when the key is absent or not a number (null).
double number_or_missing(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : kMissing;
}

SplitResult parse_split(const nlohmann::json& j) {
  SplitResult s;
  if (!j.is_object()) return s;
  s.success_rate = number_or_missing(j, "success_rate");
  s.invalid_rate = number_or_missing(j, "invalid_rate");
  if (const auto by = j.find("by_category"); by != j.end() && by->is_object()) {
    for (const auto& [category, value] : by->items()) {
      if (value.is_object()) s.category_success[category] = number_or_missing(value, "success_rate");
    }
  }
  if (const auto div = j.find("div_at_n"); div != j.end() && div->is_object()) {
    s.div = number_or_missing(*div, "value");
    const double n = number_or_missing(*div, "n");
    s.div_n = std::isfinite(n) ? static_cast<int64_t>(n) : 0;
  }
  return s;
}

std::string label_of(const std::string& arm) {
  const ComparisonArm* a = find_comparison_arm(arm);
  return a != nullptr ? a->label : arm;
}

}  // namespace

const std::vector<ComparisonArm>& comparison_arms() {
  static const std::vector<ComparisonArm> arms = {
      {"sft", "SFT", "sft", false, false},
      {"ppo", "RL4VLM (PPO)", "ppo", false, false},
      {"vartb", "GFlowVLM Var-TB", "vartb", false, true},
      {"subtb", "GFlowVLM SubTB", "subtb", false, true},
      {"db", "GFlowVLM DB", "db", false, true},
      {"vartb-offpolicy", "Var-TB (off-policy)", "vartb", true, true},
      {"subtb-offpolicy", "SubTB (off-policy)", "subtb", true, true},
      {"db-offpolicy", "DB (off-policy)", "db", true, true},
  };
  return arms;
}

const ComparisonArm* find_comparison_arm(std::string_view name) {
  for (const ComparisonArm& arm : comparison_arms()) {
    if (arm.name == name) return &arm;
  }
  return nullptr;
}

const ComparisonArm& comparison_arm(std::string_view method, bool off_policy) {
  for (const ComparisonArm& arm : comparison_arms()) {
    if (arm.method == method && arm.off_policy == off_policy) return arm;
  }
  SUBTB_THROW("gflowvlm comparison: no row for method '", method, "'", off_policy ? " off-policy" : "",
              " (methods sft, ppo, vartb, subtb, db; off-policy only vartb, subtb, db)");
}

const std::vector<ComparisonTask>& comparison_tasks() {
  static const std::vector<ComparisonTask> tasks = {
      {"numberline", "NL", "NL-OOD"},
      {"blackjack", "BJ", ""},
      {"household", "household", "household-unseen"},
  };
  return tasks;
}

const ComparisonTask* find_comparison_task(std::string_view name) {
  for (const ComparisonTask& task : comparison_tasks()) {
    if (task.name == name) return &task;
  }
  return nullptr;
}

const std::vector<HouseholdCategory>& household_categories() {
  static const std::vector<HouseholdCategory> categories = {
      {"pick_and_place_simple", "Pick"},           {"look_at_obj_in_light", "Look"},
      {"pick_clean_then_place_in_recep", "Clean"}, {"pick_heat_then_place_in_recep", "Heat"},
      {"pick_cool_then_place_in_recep", "Cool"},   {"pick_two_obj_and_place", "Pick2"},
  };
  return categories;
}

std::optional<double> paper_figure(std::string_view arm, std::string_view task, std::string_view key) {
  for (const PaperFigure& f : kCardGames) {
    if (arm == f.arm && task == f.task && key == f.key) return f.value;
  }
  if (task != "household") return std::nullopt;
  for (const HouseholdRow& row : kHousehold) {
    if (arm != row.arm) continue;
    if (key == "success") return row.avg;
    if (key == "ood_success") return row.ood;
    if (key == "div") return row.div;
    const std::vector<HouseholdCategory>& categories = household_categories();
    for (size_t c = 0; c < categories.size(); ++c) {
      if (key == categories[c].key) return row.by_category[c];
    }
  }
  return std::nullopt;
}

RunResult parse_run(const std::vector<nlohmann::json>& lines) {
  RunResult run;
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json& line = lines[i];
    SUBTB_CHECK(line.is_object() && line.contains("iteration") && line["iteration"].is_number_integer(),
                "gflowvlm comparison: metrics line ", i + 1,
                " is not an object with an integer \"iteration\": ", line.dump().substr(0, 80));
    run.iterations = line["iteration"].get<int64_t>();
    run.seconds = number_or_missing(line, "seconds");
    const auto eval = line.find("eval");
    if (eval == line.end()) continue;
    run.evaluated = true;
    run.eval = parse_split(*eval);
    run.eval_ood = line.contains("eval_ood") ? parse_split(line["eval_ood"]) : SplitResult{};
    run.env_steps.push_back(number_or_missing(line, "env_steps"));
    run.success.push_back(run.eval.success_rate);
  }
  return run;
}

Curve mean_curve(const std::vector<RunResult>& runs) {
  Curve curve;
  if (runs.empty()) return curve;
  size_t evaluations = runs.front().success.size();
  for (const RunResult& run : runs) {
    evaluations = std::min(evaluations, run.success.size());
    for (double steps : run.env_steps) {
      if (!std::isfinite(steps)) return curve;
    }
  }
  for (size_t e = 0; e < evaluations; ++e) {
    std::vector<double> steps, success;
    for (const RunResult& run : runs) {
      steps.push_back(run.env_steps[e]);
      success.push_back(run.success[e]);
    }
    double lo = kMissing, hi = kMissing;
    for (double s : success) {
      if (!std::isfinite(s)) continue;
      lo = std::isfinite(lo) ? std::min(lo, s) : s;
      hi = std::isfinite(hi) ? std::max(hi, s) : s;
    }
    curve.env_steps.push_back(stat_of(steps).mean);
    curve.mean.push_back(stat_of(success).mean);
    curve.lo.push_back(lo);
    curve.hi.push_back(hi);
  }
  return curve;
}

Stat stat_of(const std::vector<double>& values) {
  Stat s;
  double sum = 0;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    sum += v;
    ++s.n;
  }
  if (s.n == 0) return s;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) return s;
  double squares = 0;
  for (double v : values) {
    if (std::isfinite(v)) squares += (v - s.mean) * (v - s.mean);
  }
  s.sd = std::sqrt(squares / static_cast<double>(s.n - 1));
  return s;
}

Stat stat_over(const std::vector<RunResult>& runs, const std::function<double(const RunResult&)>& metric) {
  std::vector<double> values;
  for (const RunResult& run : runs) values.push_back(metric(run));
  return stat_of(values);
}

std::string format_number(double value, bool percent) {
  char buf[32];
  std::snprintf(buf, sizeof buf, percent ? "%.1f" : "%.2f", percent ? 100 * value : value);
  return buf;
}

std::string format_stat(const Stat& s, bool percent) {
  if (s.n == 0) return "—";
  std::string text = format_number(s.mean, percent);
  if (std::isfinite(s.sd)) text += " ± " + format_number(s.sd, percent);
  return text;
}

bool Comparison::within_one_sd() const {
  if (!std::isfinite(a.sd) || !std::isfinite(b.sd)) return false;
  return std::abs(a.mean - b.mean) <= std::max(a.sd, b.sd);
}

Verdict judge(const std::map<std::string, Stat>& stats, const ArmPairs& claim) {
  Verdict verdict;
  std::set<std::string> missing;
  const auto data = [&](const std::string& arm) -> const Stat* {
    const auto it = stats.find(arm);
    if (it != stats.end() && it->second.n > 0) return &it->second;
    missing.insert(arm);
    return nullptr;
  };
  size_t held = 0;
  for (const auto& [higher, lower] : claim) {
    const Stat* a = data(higher);
    const Stat* b = data(lower);
    if (a == nullptr || b == nullptr) continue;
    verdict.comparisons.push_back({higher, lower, *a, *b});
    held += verdict.comparisons.back().holds() ? 1 : 0;
  }
  // In the claim's order, so that the text reads like it.
  for (const auto& [higher, lower] : claim) {
    for (const std::string& arm : {higher, lower}) {
      if (missing.count(arm) > 0 &&
          std::find(verdict.missing.begin(), verdict.missing.end(), arm) == verdict.missing.end())
        verdict.missing.push_back(arm);
    }
  }
  const size_t n = verdict.comparisons.size();
  verdict.outcome = n == 0      ? Outcome::unknown
                    : held == n ? Outcome::holds
                    : held == 0 ? Outcome::fails
                                : Outcome::partly;
  return verdict;
}

ArmPairs gflownet_ppo_sft_claim() {
  ArmPairs pairs;
  for (const ComparisonArm& arm : comparison_arms()) {
    if (arm.gflownet) pairs.emplace_back(arm.name, "ppo");
  }
  pairs.emplace_back("ppo", "sft");
  // Implied by the two above, and still checkable where PPO has no runs.
  for (const ComparisonArm& arm : comparison_arms()) {
    if (arm.gflownet) pairs.emplace_back(arm.name, "sft");
  }
  return pairs;
}

ArmPairs off_policy_claim() {
  ArmPairs pairs;
  for (const ComparisonArm& arm : comparison_arms()) {
    if (arm.gflownet && arm.off_policy) pairs.emplace_back(arm.name, comparison_arm(arm.method, false).name);
  }
  return pairs;
}

ArmPairs gflownet_above_baselines_claim() {
  ArmPairs pairs;
  for (const ComparisonArm& arm : comparison_arms()) {
    if (!arm.gflownet) continue;
    pairs.emplace_back(arm.name, "ppo");
    pairs.emplace_back(arm.name, "sft");
  }
  return pairs;
}

std::string describe(const Verdict& v, bool percent) {
  std::string text;
  switch (v.outcome) {
    case Outcome::holds:
      text = "**holds**";
      break;
    case Outcome::partly:
      text = "**partly**";
      break;
    case Outcome::fails:
      text = "**does not hold**";
      break;
    case Outcome::unknown:
      text = "**cannot be checked**";
      break;
  }
  if (v.outcome != Outcome::unknown && !v.missing.empty()) text += " on the rows that have runs";
  std::vector<std::string> close;
  int64_t min_n = 0, max_n = 0;
  for (size_t i = 0; i < v.comparisons.size(); ++i) {
    const Comparison& c = v.comparisons[i];
    text += (i == 0 ? ": " : "; ") + label_of(c.higher) + " " + format_stat(c.a, percent) +
            (c.holds() ? " > " : " ≤ ") + label_of(c.lower) + " " + format_stat(c.b, percent);
    if (c.within_one_sd()) close.push_back(label_of(c.higher) + " vs " + label_of(c.lower));
    for (int64_t n : {c.a.n, c.b.n}) {
      min_n = min_n == 0 ? n : std::min(min_n, n);
      max_n = std::max(max_n, n);
    }
  }
  if (!v.comparisons.empty()) {
    text += " (" + (min_n == max_n ? std::to_string(min_n) : std::to_string(min_n) + " to " + std::to_string(max_n)) +
            (max_n == 1 ? " seed" : " seeds") + ")";
  }
  if (!v.missing.empty()) {
    text += v.comparisons.empty() ? ": no runs of " : ". No runs of ";
    for (size_t i = 0; i < v.missing.size(); ++i) text += (i == 0 ? "" : ", ") + label_of(v.missing[i]);
  }
  text += ".";
  if (min_n == 1) {
    text += " Caution: an arm with a single seed has no spread to judge its gaps by.";
  }
  if (!close.empty()) {
    text += " Caution: " + std::to_string(close.size()) + " of " + std::to_string(v.comparisons.size()) +
            " gaps are within one standard deviation (";
    for (size_t i = 0; i < close.size(); ++i) text += (i == 0 ? "" : ", ") + close[i];
    text += "), which these seeds cannot tell apart.";
  }
  return text;
}

}  // namespace subtb::gflownet::vlm
