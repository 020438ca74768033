#pragma once
#include <memory>
#include <string>

#include "nn/init.h"
#include "nn/module.h"

namespace subtb::nn {

// Something added to a Linear's output, such as a LoRA update (nn/lora.h). delta(x)
// returns the term to add, or an undefined tensor when there is none (e.g. once merged
// into the weight).
class LinearAdapter : public Module {
 public:
  virtual Tensor delta(const Tensor& x) = 0;
};

// y = x W^T + b. x: [..., in_features] -> [..., out_features]. weight: [out, in],
// bias: [out]. Initialised as in PyTorch: kaiming-uniform weight (a = sqrt(5)) and a
// U(-1/sqrt(in), 1/sqrt(in)) bias.
class Linear : public Layer {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, const ParamInit& init = {});
  Tensor forward(const Tensor& x) override;

  int64_t in_features() const { return weight.shape()[1]; }
  int64_t out_features() const { return weight.shape()[0]; }

  // Attaches an adapter, registered as the child `name` (its parameters are then named
  // "<this linear>.<name>.<parameter>"); a Linear holds at most one.
  void set_adapter(std::string name, std::shared_ptr<LinearAdapter> adapter);
  const std::shared_ptr<LinearAdapter>& adapter() const { return adapter_; }

  Tensor weight;
  Tensor bias;  // undefined without a bias

 private:
  std::shared_ptr<LinearAdapter> adapter_;
};

}  // namespace subtb::nn
