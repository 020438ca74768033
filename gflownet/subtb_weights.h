#pragma once
// The parts of a SubTB weighting that depend only on the batch's lengths, shared by the
// fused subtb_loss and the composite fallback so that both reduce the batch identically.
#include <vector>

#include "gflownet/subtb.h"

namespace subtb::gflownet::internal {

// Per-length coefficients of the batch-level `geometric` weighting: entry k-1 weights
// every sub-trajectory of length k, (1 - lambda) lambda^(k-1) / (1 - lambda^L_max) divided
// by the number of such sub-trajectories in the batch (1 / L_max at lambda = 1).
std::vector<double> geometric_length_coefficients(double lambda, const std::vector<int64_t>& lengths, int64_t L);

// What the per-trajectory losses are divided by to give the batch loss: the number of
// non-empty trajectories, of sub-trajectories (equal) or of transitions (db); 1 for
// geometric, whose coefficients already average. Never less than 1.
double batch_denominator(SubTBWeighting weighting, const std::vector<int64_t>& lengths);

}  // namespace subtb::gflownet::internal
