#pragma once
#include <memory>
#include <vector>

#include "nn/activation.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/sequential.h"

namespace subtb::nn {

struct MLPOptions {
  std::vector<int64_t> sizes;  // input, hidden..., output: at least two entries
  Activation activation = Activation::relu;
  bool layer_norm = false;  // a LayerNorm after each hidden Linear, before its activation
  bool bias = true;
};

// A multilayer perceptron: x -> trunk -> head. The trunk holds, per hidden size,
// Linear, [LayerNorm], activation (names "trunk.0.weight", "trunk.1.weight", ...); the
// head is the last Linear, with no activation after it.
class MLP : public Layer {
 public:
  explicit MLP(const MLPOptions& options, const ParamInit& init = {});
  Tensor forward(const Tensor& x) override { return head->forward(trunk->forward(x)); }

  std::shared_ptr<Sequential> trunk;
  std::shared_ptr<Linear> head;
};

}  // namespace subtb::nn
