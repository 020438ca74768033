#pragma once
#include <map>
#include <string>

#include "tensor/tensor.h"

namespace subtb::nn {

// Name -> tensor, ordered by name: what modules, optimizers and checkpoints exchange.
using StateDict = std::map<std::string, Tensor>;

}  // namespace subtb::nn
