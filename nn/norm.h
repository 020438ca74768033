#pragma once
#include "nn/init.h"
#include "nn/module.h"

namespace subtb::nn {

// Normalises the last dim (size `dim`) to zero mean and unit variance, then scales by
// weight (ones) and shifts by bias (zeros) when elementwise_affine.
class LayerNorm : public Layer {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool elementwise_affine = true, const ParamInit& init = {});
  Tensor forward(const Tensor& x) override;

  Tensor weight, bias;  // [dim], undefined without elementwise_affine
  double eps;
};

// x / sqrt(mean(x^2) + eps) * weight over the last dim (size `dim`); weight starts at ones.
class RMSNorm : public Layer {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-6, const ParamInit& init = {});
  Tensor forward(const Tensor& x) override;

  Tensor weight;  // [dim]
  double eps;
};

}  // namespace subtb::nn
