#pragma once
// The gfn environments draw from the shared SplitMix64 generator (envs/common/splitmix64.h).
#include "envs/common/splitmix64.h"

namespace subtb::gfn {

using Rng = envs::SplitMix64;

}  // namespace subtb::gfn
