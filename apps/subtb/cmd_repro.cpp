// `subtb repro <study> [--quick|--full] [--seeds N] [--out DIR]`: runs one of the papers'
// comparisons (apps/subtb/repro_studies.h) across seeds in-process and writes its report,
// tables and figures to docs/results/<study>/ (see gflownet/repro.h for the files). GFlowVLM's
// comparison, a pipeline of VLM runs rather than a Study, adds its own two subcommands
// (apps/subtb/repro_gflowvlm.h).
#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

#include "apps/subtb/commands.h"
#include "apps/subtb/repro_gflowvlm.h"
#include "apps/subtb/repro_studies.h"
#include "gflownet/repro.h"

namespace subtb::cli {

namespace {

struct ReproFlags {
  bool quick = false;  // the default mode; the flag exists to say so on the command line
  bool full = false;
  int seeds = 0;  // 0: the mode's own
  std::string out;
};

// The command line that reproduces a run, spelled with the flags that change it.
std::string command_line(const std::string& study, const ReproFlags& f, const CLI::App& app) {
  std::string cmd = "subtb repro " + study + (f.full ? " --full" : " --quick");
  if (app.count("--seeds") > 0) cmd += " --seeds " + std::to_string(f.seeds);
  if (app.count("--out") > 0) cmd += " --out " + f.out;
  return cmd;
}

void run_repro(const std::string& name, gflownet::Study study, const ReproFlags& f, const CLI::App& app) {
  gflownet::ReportOptions report;
  report.out = f.out.empty() ? "docs/results/" + name : f.out;
  report.command = command_line(name, f, app);
  report.mode = f.full ? "full (paper-sized)" : "quick (a short, smaller version of the study; see above)";
  std::cout << "Reproduction study '" << name << "' (" << (f.full ? "full" : "quick")
            << "): " << study.panels.size() * study.arms.size() * study.seeds.size() << " runs of " << study.steps
            << " steps; report in " << report.out.string() << "\n";
  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  const std::vector<gflownet::RunRecord> records = gflownet::run_study(study, &std::cout);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  gflownet::write_study_report(study, records, report);
  std::cout << "Wrote " << (report.out / "results.md").string() << " (" << report.seconds << " s)\n";
}

}  // namespace

void add_repro_command(CLI::App& app) {
  static ReproFlags f;
  CLI::App* repro = app.add_subcommand("repro", "Reproduce a paper's comparison: runs across seeds, tables, figures");
  repro->require_subcommand(1);
  CLI::App* grid = repro->add_subcommand(
      "hypergrid",
      "SubTB paper: TB vs DB vs SubTB(0.9), learned P_B, on HyperGrid(D in {2,4}, H=12, R0 in {1e-3,1e-4})");
  CLI::App* bits = repro->add_subcommand(
      "bitseq", "SubTB paper: TB vs DB vs SubTB(0.9) on BitSequence(120, 8): modes found, Spearman");
  CLI::App* sets = repro->add_subcommand(
      "setgen", "FL-GFN paper: DB, FL-DB, TB, SubTB, FL-SubTB on set generation: top-100 mean reward");
  for (CLI::App* study : {grid, bits, sets}) {
    CLI::Option* quick =
        study->add_flag("--quick", f.quick, "A short version that runs in minutes on two cores (the default)");
    study->add_flag("--full", f.full, "The paper-sized study (hours)")->excludes(quick);
    study->add_option("--seeds", f.seeds, "Seeds per configuration (default: the mode's)")->check(CLI::Range(1, 100));
    study->add_option("--out", f.out, "Report folder (default docs/results/<study>)");
  }
  using Builder = gflownet::Study (*)(ReproMode, std::optional<int>);
  for (auto [study, builder] :
       {std::pair<CLI::App*, Builder>{grid, hypergrid_study}, {bits, bitseq_study}, {sets, setgen_study}}) {
    study->callback([study, builder] {
      const ReproMode mode = f.full ? ReproMode::full : ReproMode::quick;
      const std::optional<int> seeds = f.seeds > 0 ? std::optional<int>(f.seeds) : std::nullopt;
      run_repro(study->get_name(), builder(mode, seeds), f, *study);
    });
  }
  add_repro_gflowvlm_commands(*repro);
}

}  // namespace subtb::cli
