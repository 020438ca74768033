#include "nn/linear.h"

#include <cmath>

#include "tensor/ops.h"

namespace subtb::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, const ParamInit& init) {
  SUBTB_CHECK(in_features >= 0 && out_features >= 0, "Linear: negative size (in_features ", in_features,
              ", out_features ", out_features, ")");
  weight = register_parameter("weight",
                              kaiming_uniform(Shape{out_features, in_features}, in_features, std::sqrt(5.0), init));
  if (bias) this->bias = register_parameter("bias", fan_in_uniform(Shape{out_features}, in_features, init));
}

Tensor Linear::forward(const Tensor& x) {
  SUBTB_CHECK(x.dim() >= 1 && x.shape().back() == in_features(), "Linear: input ", describe(x),
              " does not end in in_features = ", in_features());
  Tensor y;
  if (x.dim() <= 2) {
    y = matmul(x, weight.t());
  } else {
    // Leading dims fold into one GEMM rather than a batch of small ones.
    Shape out_shape = x.shape();
    out_shape[out_shape.size() - 1] = out_features();
    int64_t rows = 1;
    for (int d = 0; d + 1 < x.dim(); ++d) rows *= x.shape()[d];
    y = matmul(x.reshape(Shape{rows, in_features()}), weight.t()).reshape(out_shape);
  }
  if (bias.defined()) y = y + bias;
  if (adapter_) {
    if (const Tensor d = adapter_->delta(x); d.defined()) y = y + d;
  }
  return y;
}

void Linear::set_adapter(std::string name, std::shared_ptr<LinearAdapter> adapter) {
  SUBTB_CHECK(adapter != nullptr, "Linear: set_adapter needs an adapter");
  SUBTB_CHECK(adapter_ == nullptr, "Linear: an adapter is already attached");
  adapter_ = register_module(std::move(name), std::move(adapter));
}

}  // namespace subtb::nn
