#pragma once
// Where layers create their parameters, and the initialisations PyTorch uses, drawn
// from a Generator so that a seed fixes a model's initial weights.
#include "tensor/ops/random.h"
#include "tensor/tensor.h"

namespace subtb::nn {

struct ParamInit {
  DType dtype = DType::f32;
  Device device = kCPU;
  Generator* gen = nullptr;  // nullptr: the default generator
};

// U(-bound, bound) with bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)):
// PyTorch's kaiming_uniform_ (leaky_relu gain). a = sqrt(5), Linear's default, gives
// bound = 1 / sqrt(fan_in). fan_in = 0 gives zeros.
Tensor kaiming_uniform(const Shape& shape, int64_t fan_in, double a, const ParamInit& init);
// U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)): PyTorch's default for a Linear bias.
Tensor fan_in_uniform(const Shape& shape, int64_t fan_in, const ParamInit& init);

}  // namespace subtb::nn
