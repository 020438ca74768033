#pragma once
// The cards environments draw from the shared SplitMix64 generator (envs/common/splitmix64.h).
#include "envs/common/splitmix64.h"

namespace subtb::cards {

using Rng = envs::SplitMix64;

}  // namespace subtb::cards
