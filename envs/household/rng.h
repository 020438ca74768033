#pragma once
// The household environments draw from the shared SplitMix64 generator (envs/common/splitmix64.h).
#include "envs/common/splitmix64.h"

namespace subtb::household {

using Rng = envs::SplitMix64;
using envs::mix64;

}  // namespace subtb::household
