#include "nn/lora.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace subtb::nn {

namespace {

// Calls f(dotted path, module) for every module of the tree below `m` (not m itself).
void visit_modules(Module& m, const std::string& prefix, const std::function<void(const std::string&, Module&)>& f) {
  for (const auto& [name, child] : m.children()) {
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    f(path, *child);
    visit_modules(*child, path, f);
  }
}

void for_each_lora(Module& model, const std::function<void(LoRA&)>& f) {
  visit_modules(model, "", [&](const std::string&, Module& m) {
    if (auto* lora = dynamic_cast<LoRA*>(&m)) f(*lora);
  });
}

}  // namespace

LoRA::LoRA(Linear& base, const LoRAConfig& c)
    : base_(&base), scale_(c.alpha / static_cast<double>(c.rank)), dropout_(c.dropout), gen_(c.gen) {
  SUBTB_CHECK(c.rank > 0, "LoRA: rank must be positive, got ", c.rank);
  SUBTB_CHECK(c.alpha > 0, "LoRA: alpha must be positive, got ", c.alpha);
  SUBTB_CHECK(c.dropout >= 0 && c.dropout < 1, "LoRA: dropout must lie in [0, 1), got ", c.dropout);
  const ParamInit init{base.weight.dtype(), base.weight.device(), c.gen};
  A = register_parameter("A",
                         kaiming_uniform(Shape{c.rank, base.in_features()}, base.in_features(), std::sqrt(5.0), init));
  B = register_parameter("B", zeros(Shape{base.out_features(), c.rank}, init.dtype, init.device));
}

Tensor LoRA::delta(const Tensor& x) {
  if (merged_) return Tensor();
  const Tensor h = dropout(x, dropout_, is_training(), gen_);
  Shape rows_shape = h.shape();
  rows_shape[rows_shape.size() - 1] = B.shape()[0];
  const Tensor rows = h.reshape(Shape{-1, A.shape()[1]});
  return (matmul(matmul(rows, A.t()), B.t()) * scale_).reshape(rows_shape);
}

void LoRA::fold(double sign) {
  NoGradGuard no_grad;
  Tensor w = base_->weight;
  add_(w, matmul(B, A), sign * scale_);
}

void LoRA::merge() {
  SUBTB_CHECK(!merged_, "LoRA: already merged");
  fold(1.0);
  merged_ = true;
}

void LoRA::unmerge() {
  SUBTB_CHECK(merged_, "LoRA: not merged");
  fold(-1.0);
  merged_ = false;
}

std::vector<std::string> apply_lora(Module& model, const std::vector<std::string>& targets, const LoRAConfig& config) {
  std::vector<std::pair<std::string, Linear*>> chosen;
  visit_modules(model, "", [&](const std::string& path, Module& m) {
    auto* linear = dynamic_cast<Linear*>(&m);
    if (linear == nullptr) return;
    const std::string own = path.substr(path.find_last_of('.') + 1);  // npos + 1 == 0
    if (std::find(targets.begin(), targets.end(), own) != targets.end()) chosen.emplace_back(path, linear);
  });
  std::string wanted;
  for (const std::string& t : targets) wanted += (wanted.empty() ? "" : ", ") + t;
  SUBTB_CHECK(!chosen.empty(), "apply_lora: no Linear of the model is named any of [", wanted, "]");
  for (const auto& [path, linear] : chosen)
    SUBTB_CHECK(linear->adapter() == nullptr, "apply_lora: '", path, "' already has an adapter");

  freeze(model);
  std::vector<std::string> paths;
  for (const auto& [path, linear] : chosen) {
    linear->set_adapter("lora", std::make_shared<LoRA>(*linear, config));
    paths.push_back(path);
  }
  return paths;
}

void merge_lora(Module& model) {
  for_each_lora(model, [](LoRA& l) {
    if (!l.merged()) l.merge();
  });
}

void unmerge_lora(Module& model) {
  for_each_lora(model, [](LoRA& l) {
    if (l.merged()) l.unmerge();
  });
}

void freeze(Module& module) {
  for (Tensor& p : module.parameters()) p.requires_grad_(false);
}

std::vector<Tensor> trainable_parameters(const Module& module) {
  std::vector<Tensor> out;
  for (const Tensor& p : module.parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}

}  // namespace subtb::nn
