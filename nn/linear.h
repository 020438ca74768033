#pragma once
#include "nn/init.h"
#include "nn/module.h"

namespace subtb::nn {

// y = x W^T + b. x: [..., in_features] -> [..., out_features]. weight: [out, in],
// bias: [out]. Initialised as in PyTorch: kaiming-uniform weight (a = sqrt(5)) and a
// U(-1/sqrt(in), 1/sqrt(in)) bias.
class Linear : public Layer {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, const ParamInit& init = {});
  Tensor forward(const Tensor& x) override;

  int64_t in_features() const { return weight.shape()[1]; }
  int64_t out_features() const { return weight.shape()[0]; }

  Tensor weight;
  Tensor bias;  // undefined without a bias
};

}  // namespace subtb::nn
