#include "nn/module.h"

#include <set>
#include <sstream>

#include "autograd/grad_mode.h"

namespace subtb::nn {

namespace {

// Points `t` at `src`'s data (PyTorch's set_data): every handle sharing t's impl sees
// the change, and t keeps its identity, requires_grad and gradient accumulator.
void replace_data(const Tensor& t, const Tensor& src) {
  TensorImpl& impl = *t.impl();
  const TensorImpl& s = *src.impl();
  impl.storage = s.storage;
  impl.shape = s.shape;
  impl.strides = s.strides;
  impl.offset = s.offset;
  impl.dtype = s.dtype;
}

// Converts t (and its gradient) with `convert`, in place.
template <class Convert>
void convert_in_place(const Tensor& t, Convert&& convert) {
  replace_data(t, convert(t.detach()));
  if (const Tensor g = t.grad(); g.defined()) t.impl()->grad = convert(g).impl_ptr();
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

template <class F>
void Module::visit_tensors(const std::string& prefix, Visit which, F&& f) const {
  if (which != Visit::buffers)
    for (const auto& [name, t] : parameters_) f(prefix + name, t);
  if (which != Visit::parameters)
    for (const auto& [name, t] : buffers_) f(prefix + name, t);
  for (const auto& [name, child] : children_) child->visit_tensors(prefix + name + ".", which, f);
}

// ----- registration

void Module::check_new_name(const std::string& name) const {
  SUBTB_CHECK(!name.empty() && name.find('.') == std::string::npos, "Module: invalid name '", name,
              "' (names must be non-empty and contain no '.')");
  auto taken = [&](const auto& entries) {
    for (const auto& entry : entries)
      if (entry.first == name) return true;
    return false;
  };
  SUBTB_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), "Module: the name '", name,
              "' is already registered");
}

Tensor Module::register_parameter(std::string name, Tensor value) {
  check_new_name(name);
  SUBTB_CHECK(value.defined(), "Module: parameter '", name, "' is undefined");
  SUBTB_CHECK(value.is_leaf(), "Module: parameter '", name, "' (", describe(value),
              ") is the output of an op; register a leaf (detach() it)");
  value.requires_grad_(true);  // throws for non-floating dtypes
  parameters_.emplace_back(std::move(name), value);
  return value;
}

Tensor Module::register_buffer(std::string name, Tensor value) {
  check_new_name(name);
  SUBTB_CHECK(value.defined(), "Module: buffer '", name, "' is undefined");
  buffers_.emplace_back(std::move(name), value);
  return value;
}

void Module::add_child(std::string name, std::shared_ptr<Module> module) {
  check_new_name(name);
  SUBTB_CHECK(module != nullptr, "Module: sub-module '", name, "' is null");
  children_.emplace_back(std::move(name), std::move(module));
}

// ----- the tree

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::set<const TensorImpl*> seen;
  visit_tensors("", Visit::parameters, [&](const std::string& name, const Tensor& t) {
    if (seen.insert(t.impl()).second) out.emplace_back(name, t);
  });
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  visit_tensors("", Visit::buffers, [&](const std::string& name, const Tensor& t) { out.emplace_back(name, t); });
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad() {
  visit_tensors("", Visit::parameters, [](const std::string&, Tensor t) { t.zero_grad(); });
}

// ----- state

StateDict Module::state_dict() const {
  StateDict out;
  visit_tensors("", Visit::all, [&](const std::string& name, const Tensor& t) { out.emplace(name, t.detach()); });
  return out;
}

void Module::check_state_dict(const StateDict& state) const {
  std::vector<std::string> missing, mismatched, unexpected;
  std::set<std::string> known;
  visit_tensors("", Visit::all, [&](const std::string& name, const Tensor& t) {
    known.insert(name);
    const auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
    } else if (!it->second.defined()) {
      mismatched.push_back(name + " (undefined in the state dict)");
    } else if (!(it->second.shape() == t.shape()) || it->second.dtype() != t.dtype()) {
      std::ostringstream os;
      os << name << " (state dict " << it->second.dtype() << it->second.shape() << ", module " << t.dtype()
         << t.shape() << ")";
      mismatched.push_back(os.str());
    }
  });
  for (const auto& [name, t] : state)
    if (!known.contains(name)) unexpected.push_back(name);
  if (missing.empty() && mismatched.empty() && unexpected.empty()) return;
  std::string msg = "load_state_dict:";
  if (!missing.empty()) msg += " missing keys: " + join(missing) + ";";
  if (!unexpected.empty()) msg += " unexpected keys: " + join(unexpected) + ";";
  if (!mismatched.empty()) msg += " mismatched: " + join(mismatched) + ";";
  msg.pop_back();
  throw Error(msg);
}

void Module::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  NoGradGuard no_grad;
  visit_tensors("", Visit::all, [&](const std::string& name, Tensor t) { t.copy_(state.at(name).to(t.device())); });
}

void Module::to(Device device) {
  visit_tensors("", Visit::all, [&](const std::string&, const Tensor& t) {
    convert_in_place(t, [&](const Tensor& x) { return x.to(device); });
  });
}

void Module::to(DType dtype) {
  SUBTB_CHECK(is_floating(dtype), "Module::to: expected a floating dtype, got ", dtype,
              " (only floating parameters and buffers are converted)");
  visit_tensors("", Visit::all, [&](const std::string&, const Tensor& t) {
    if (is_floating(t.dtype())) convert_in_place(t, [&](const Tensor& x) { return x.to(dtype); });
  });
}

}  // namespace subtb::nn
