#include "nn/norm.h"

#include "tensor/ops.h"

namespace subtb::nn {

LayerNorm::LayerNorm(int64_t dim, double eps, bool elementwise_affine, const ParamInit& init) : eps(eps) {
  SUBTB_CHECK(dim > 0, "LayerNorm: dim must be positive, got ", dim);
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(Shape{dim}, init.dtype, init.device));
    bias = register_parameter("bias", zeros(Shape{dim}, init.dtype, init.device));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, weight, bias, eps); }

RMSNorm::RMSNorm(int64_t dim, double eps, const ParamInit& init) : eps(eps) {
  SUBTB_CHECK(dim > 0, "RMSNorm: dim must be positive, got ", dim);
  weight = register_parameter("weight", ones(Shape{dim}, init.dtype, init.device));
}

Tensor RMSNorm::forward(const Tensor& x) { return rms_norm(x, weight, eps); }

}  // namespace subtb::nn
