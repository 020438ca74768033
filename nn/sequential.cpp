#include "nn/sequential.h"

#include <string>

namespace subtb::nn {

Sequential::Sequential(const std::vector<std::shared_ptr<Layer>>& layers) {
  for (const std::shared_ptr<Layer>& layer : layers) push_back(layer);
}

void Sequential::push_back(std::shared_ptr<Layer> layer) {
  layers_.push_back(register_module(std::to_string(layers_.size()), std::move(layer)));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const std::shared_ptr<Layer>& layer : layers_) y = layer->forward(y);
  return y;
}

}  // namespace subtb::nn
