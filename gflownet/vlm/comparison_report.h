#pragma once
// The runs of GFlowVLM's comparison (`subtb repro gflowvlm`) and their report: tables laid
// out like the paper's with its figures beside ours, success against environment steps, and
// the verdicts on its claims (paper_comparison.h).
//
// Read, under <out>/runs/<task>/<arm>/ (task and arm as comparison_tasks()/comparison_arms()
// name them):
//   command.txt     the command that produced the arm's runs
//   settings.json   the settings that command applied (mode, iterations, lr, ...)
//   seed<k>/        one run folder each (apps/subtb/gflowvlm_run.h): config.json, metrics.jsonl
// Written: <out>/results.md and <out>/<task>-success-vs-env-steps.png.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "gflownet/vlm/paper_comparison.h"

namespace subtb::gflownet::vlm {

struct ArmRuns {
  std::string task;                     // a comparison task's name
  std::string arm;                      // a comparison arm's name
  std::vector<std::string> seeds;       // the finished runs' folder names, by seed
  std::vector<RunResult> runs;          // and their results
  std::vector<std::string> unfinished;  // folders whose metrics stop short of config.json's iterations
  std::string command;                  // command.txt without its final newline; "" when absent
  nlohmann::json settings;              // settings.json; null when absent
};

// The k of a run folder named seed<k>; -1 for any other name.
int seed_folder_number(std::string_view name);

// The arm folders under <out>/runs that the comparison knows, tasks then arms in the
// paper's order; other folders are ignored. A run is finished when the last line of its
// metrics.jsonl is the last iteration of its config.json ("loop"/"iterations"); a last line
// cut short (a run writing it) counts as unfinished. Throws naming the file for an
// unreadable metrics line before the last.
std::vector<ArmRuns> load_comparison_runs(const std::filesystem::path& out);

// Writes results.md and the figures into `out` (see the header comment) from `arms`; cells
// without runs read "—".
void write_comparison_report(const std::filesystem::path& out, const std::vector<ArmRuns>& arms);

}  // namespace subtb::gflownet::vlm
