#pragma once
#include "nn/optim.h"

namespace subtb::nn {

struct SGDOptions {
  double lr = 1e-2;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // L2: weight_decay * param is added to the gradient
  bool nesterov = false;
};

// Stochastic gradient descent with PyTorch's update: d = grad + weight_decay * p;
// with momentum, b = d on the first step and b = momentum * b + (1 - dampening) * d
// after, and d = b (or d + momentum * b with nesterov); then p -= lr * d.
// State per parameter: "momentum_buffer" when momentum != 0.
class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, const SGDOptions& options = {});
  SGD(std::vector<Tensor> params, const SGDOptions& options = {})
      : SGD(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

  void step() override;
  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
};

}  // namespace subtb::nn
