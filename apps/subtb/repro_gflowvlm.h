#pragma once
// GFlowVLM's comparison as a reproduction study (docs/gflowvlm.md, "Reproduction"):
//   subtb repro gflowvlm --task T --method M [--off-policy] [--seeds N] [--quick|--full]
//   subtb repro gflowvlm-tables [--out DIR]
// The first trains the paper's pipeline per seed (an SFT stage, then the method from it)
// into <out>/runs/<task>/<arm>/seed<k>/; the second, which the first also runs at its end,
// writes <out>/results.md from whatever runs exist (gflownet/vlm/comparison_report.h).
#include <CLI/CLI.hpp>

namespace subtb::cli {

// Adds `gflowvlm` and `gflowvlm-tables` to the `subtb repro` command.
void add_repro_gflowvlm_commands(CLI::App& repro);

}  // namespace subtb::cli
