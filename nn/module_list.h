#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"

namespace subtb::nn {

// Sub-modules of one type named by position ("0", "1", ...), as PyTorch's ModuleList:
// a stack of transformer blocks is "layers.0.", "layers.1.", ... Unlike Sequential it
// imposes no forward signature; the owner calls the modules itself.
template <class M>
class ModuleList : public Module {
 public:
  void push_back(std::shared_ptr<M> module) {
    modules_.push_back(register_module(std::to_string(modules_.size()), std::move(module)));
  }
  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  M& operator[](size_t i) const { return *modules_.at(i); }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  std::vector<std::shared_ptr<M>> modules_;
};

}  // namespace subtb::nn
