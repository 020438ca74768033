#pragma once
// The papers' comparisons as reproduction studies (gflownet/repro.h), each in a quick
// form that fits a few minutes on two cores and a full, paper-sized form.
#include <cstdint>
#include <optional>

#include "gflownet/repro.h"

namespace subtb::cli {

enum class ReproMode { quick, full };

// SubTB paper (Madan et al. 2023): TB vs DB vs SubTB(0.9) with a learned P_B tied to P_F
// on HyperGrid(D, 12, R0), D in {2, 4}, R0 in {1e-3, 1e-4}; exact L1 and log Z error.
// `seeds` overrides the mode's number of seeds.
gflownet::Study hypergrid_study(ReproMode mode, std::optional<int> seeds);

// SubTB paper: TB vs DB vs SubTB(0.9) on BitSequence(n = 120, k = 8) with 60 modes; modes
// found and the Spearman correlation of log p(x) with log R(x) on mutated modes.
gflownet::Study bitseq_study(ReproMode mode, std::optional<int> seeds);

// FL-GFN paper: DB, FL-DB, TB, SubTB and FL-SubTB on set generation (small, medium, large);
// mean reward of the 100 best unique sets sampled so far.
gflownet::Study setgen_study(ReproMode mode, std::optional<int> seeds);

}  // namespace subtb::cli
