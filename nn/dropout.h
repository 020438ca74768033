#pragma once
#include "nn/module.h"
#include "tensor/ops/random.h"

namespace subtb::nn {

// Zeroes each element with probability p and scales the rest by 1 / (1 - p) while
// training; the identity in eval mode. Masks come from `gen` (the default generator
// when null), which the caller owns and checkpoints.
class Dropout : public Layer {
 public:
  explicit Dropout(double p = 0.5, Generator* gen = nullptr);
  Tensor forward(const Tensor& x) override;

  double p;

 private:
  Generator* gen_;
};

}  // namespace subtb::nn
