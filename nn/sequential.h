#pragma once
#include <memory>
#include <vector>

#include "nn/module.h"

namespace subtb::nn {

// Layers applied in order, named by position ("0", "1", ...) as in PyTorch, so that a
// Sequential's state dict keys read "trunk.0.weight".
class Sequential : public Layer {
 public:
  Sequential() = default;
  explicit Sequential(const std::vector<std::shared_ptr<Layer>>& layers);

  void push_back(std::shared_ptr<Layer> layer);
  Tensor forward(const Tensor& x) override;

  size_t size() const { return layers_.size(); }
  bool empty() const { return layers_.empty(); }
  const std::shared_ptr<Layer>& operator[](size_t i) const { return layers_.at(i); }

 private:
  std::vector<std::shared_ptr<Layer>> layers_;
};

}  // namespace subtb::nn
