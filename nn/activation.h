#pragma once
#include <string_view>

#include "nn/module.h"

namespace subtb::nn {

enum class Activation { none, relu, leaky_relu, tanh, gelu, silu };

// "none", "relu", "leaky_relu", "tanh", "gelu", "silu" (as configs spell them); anything
// else throws listing the choices.
Activation parse_activation(std::string_view name);
std::string_view activation_name(Activation a);

// leaky_relu uses PyTorch's default slope 0.01; gelu is the exact (erf) form.
Tensor activate(const Tensor& x, Activation a);

// A parameterless layer applying one activation.
class ActivationLayer : public Layer {
 public:
  explicit ActivationLayer(Activation a) : activation_(a) {}
  Tensor forward(const Tensor& x) override { return activate(x, activation_); }
  Activation activation() const { return activation_; }

 private:
  Activation activation_;
};

}  // namespace subtb::nn
