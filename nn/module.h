#pragma once
// Module: a named tree of parameters, buffers and sub-modules.
//
// A subclass registers what it owns in its constructor, under names without dots:
//   weight = register_parameter("weight", w);
//   trunk = register_module("trunk", std::make_shared<Sequential>());
// and the tree then names everything by dotted paths ("trunk.0.weight"), in
// registration order. Parameters are the trainable leaves (requires_grad); buffers are
// state that is saved with the module but not trained.
//
// Moving a module (to(device), to(dtype)) swaps each tensor's data in place, the way
// PyTorch's set_data does, so every handle to a parameter (the subclass's member, an
// optimizer's list) keeps seeing it.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/state_dict.h"
#include "tensor/tensor.h"

namespace subtb::nn {

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  // A module owns its tensors by identity; copying one would alias them silently.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // ----- the tree, recursively: a module's own tensors in registration order, then its
  // children's. A parameter registered twice (tied weights) is listed once, under the
  // first of its names, so that an optimizer updates it once.
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  // Direct sub-modules only.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  // ----- modes (recursive). Layers such as Dropout read is_training().
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Resets every parameter's gradient to undefined.
  void zero_grad();

  // ----- state
  // Parameters and buffers by dotted name. The tensors are detached handles to the live
  // data (not copies): save or clone them before the next update if they must be kept.
  StateDict state_dict() const;
  // Copies every entry into the matching tensor, after checking the whole dict first:
  // a missing or unexpected key, or a shape or dtype that differs, throws naming all of
  // them and changes nothing. Values may live on any device.
  void load_state_dict(const StateDict& state);
  // The check load_state_dict does, without loading.
  void check_state_dict(const StateDict& state) const;

  // Moves every parameter and buffer (and gradient) to `device` / converts the floating
  // ones to `dtype`, in place.
  void to(Device device);
  void to(DType dtype);

 protected:
  // Each returns its argument. Names must be non-empty, free of dots and unique within
  // this module. A parameter must be a floating leaf; it is marked requires_grad.
  Tensor register_parameter(std::string name, Tensor value);
  Tensor register_buffer(std::string name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }

 private:
  void add_child(std::string name, std::shared_ptr<Module> module);
  void check_new_name(const std::string& name) const;
  // Calls f(dotted name, tensor) for the tree's parameters and/or buffers.
  enum class Visit { parameters, buffers, all };
  template <class F>
  void visit_tensors(const std::string& prefix, Visit which, F&& f) const;

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// A module that maps one tensor to one tensor: what Sequential chains.
class Layer : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace subtb::nn
