#include "nn/activation.h"

#include <array>
#include <string>

#include "tensor/ops.h"

namespace subtb::nn {

namespace {
constexpr std::array kActivations{Activation::none, Activation::relu, Activation::leaky_relu,
                                  Activation::tanh, Activation::gelu, Activation::silu};
}

std::string_view activation_name(Activation a) {
  switch (a) {
    case Activation::none: return "none";
    case Activation::relu: return "relu";
    case Activation::leaky_relu: return "leaky_relu";
    case Activation::tanh: return "tanh";
    case Activation::gelu: return "gelu";
    case Activation::silu: return "silu";
  }
  return "?";
}

Activation parse_activation(std::string_view name) {
  std::string choices;
  for (Activation a : kActivations) {
    if (activation_name(a) == name) return a;
    choices += (choices.empty() ? "" : ", ") + std::string(activation_name(a));
  }
  SUBTB_THROW("parse_activation: unknown activation '", name, "' (choose one of ", choices, ")");
}

Tensor activate(const Tensor& x, Activation a) {
  switch (a) {
    case Activation::none: return x;
    case Activation::relu: return relu(x);
    case Activation::leaky_relu: return leaky_relu(x);
    case Activation::tanh: return tanh(x);
    case Activation::gelu: return gelu(x);
    case Activation::silu: return silu(x);
  }
  SUBTB_THROW("activate: invalid activation ", static_cast<int>(a));
}

}  // namespace subtb::nn
