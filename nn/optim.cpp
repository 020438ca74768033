#include "nn/optim.h"

#include <cmath>
#include <set>
#include <sstream>

#include "tensor/ops.h"

namespace subtb::nn {

namespace {

std::string lr_key(size_t group) { return "groups." + std::to_string(group) + ".lr"; }
std::string state_key(size_t param, const std::string& field) {
  return "state." + std::to_string(param) + "." + field;
}

bool is_scalar_of(const Tensor& t, DType dtype) { return t.defined() && t.dim() == 0 && t.dtype() == dtype; }

std::string describe_entry(const Tensor& t) { return t.defined() ? describe(t) : "undefined"; }

int64_t read_i64(const Tensor& t) { return t.to(kCPU).to_vector<int64_t>()[0]; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Optimizer::Optimizer(std::string name, std::vector<ParamGroup> groups, double lr, double weight_decay,
                     std::vector<std::string> buffer_names)
    : name_(std::move(name)), buffer_names_(std::move(buffer_names)) {
  SUBTB_CHECK(!groups.empty(), name_, ": no parameter groups given");
  std::set<const TensorImpl*> seen;
  for (size_t g = 0; g < groups.size(); ++g) {
    ParamGroup& pg = groups[g];
    const double group_lr = pg.lr.value_or(lr), group_wd = pg.weight_decay.value_or(weight_decay);
    SUBTB_CHECK(std::isfinite(group_lr) && group_lr >= 0, name_, ": group ", g, " has an invalid lr ", group_lr);
    SUBTB_CHECK(std::isfinite(group_wd) && group_wd >= 0, name_, ": group ", g, " has an invalid weight_decay ",
                group_wd);
    for (size_t k = 0; k < pg.params.size(); ++k) {
      const Tensor& p = pg.params[k];
      SUBTB_CHECK(p.defined(), name_, ": parameter ", k, " of group ", g, " is undefined");
      SUBTB_CHECK(p.is_leaf() && is_floating(p.dtype()), name_, ": parameter ", k, " of group ", g, " (",
                  describe(p), ") must be a floating leaf tensor");
      SUBTB_CHECK(seen.insert(p.impl()).second, name_, ": parameter ", k, " of group ", g, " (", describe(p),
                  ") appears more than once");
    }
    state_.resize(state_.size() + pg.params.size());
    groups_.push_back(Group{std::move(pg.params), group_lr, group_lr, group_wd});
  }
}

void Optimizer::zero_grad() {
  for (const Group& group : groups_)
    for (Tensor p : group.params) p.zero_grad();
}

void Optimizer::set_lr(size_t group, double lr) {
  SUBTB_CHECK(group < groups_.size(), name_, ".set_lr: group ", group, " does not exist (", groups_.size(),
              " groups)");
  SUBTB_CHECK(std::isfinite(lr) && lr >= 0, name_, ".set_lr: invalid lr ", lr, " for group ", group);
  groups_[group].lr = lr;
}

void Optimizer::scale_lr(double factor) {
  for (size_t g = 0; g < groups_.size(); ++g) set_lr(g, groups_[g].base_lr * factor);
}

StateDict Optimizer::state_dict() const {
  StateDict out;
  for (size_t g = 0; g < groups_.size(); ++g) out.emplace(lr_key(g), scalar_tensor(groups_[g].lr, DType::f64));
  for (size_t i = 0; i < state_.size(); ++i) {
    const ParamState& st = state_[i];
    if (st.step == 0) continue;
    out.emplace(state_key(i, "step"), from_vector<int64_t>({st.step}, Shape{}));
    for (const auto& [name, buffer] : st.buffers) out.emplace(state_key(i, name), buffer.detach());
  }
  return out;
}

void Optimizer::check_state_dict(const StateDict& state) const {
  std::vector<std::string> missing, mismatched, unexpected;
  std::set<std::string> known;
  auto find = [&](const std::string& key) -> const Tensor* {
    known.insert(key);
    const auto it = state.find(key);
    if (it != state.end()) return &it->second;
    missing.push_back(key);
    return nullptr;
  };
  for (size_t g = 0; g < groups_.size(); ++g) {
    const Tensor* lr = find(lr_key(g));
    if (lr && !is_scalar_of(*lr, DType::f64)) {
      mismatched.push_back(lr_key(g) + " (expected f64[], got " + describe_entry(*lr) + ")");
    } else if (lr && !(std::isfinite(lr->item()) && lr->item() >= 0)) {
      mismatched.push_back(lr_key(g) + " (invalid lr " + std::to_string(lr->item()) + ")");
    }
  }
  size_t i = 0;
  for (const Group& group : groups_) {
    for (const Tensor& param : group.params) {
      const std::string step_key = state_key(i, "step");
      const auto step = state.find(step_key);
      if (step != state.end()) {  // state is optional per parameter, but complete when present
        known.insert(step_key);
        if (!is_scalar_of(step->second, DType::i64) || read_i64(step->second) < 1)
          mismatched.push_back(step_key + " (expected a positive i64[], got " + describe_entry(step->second) + ")");
        for (const std::string& name : buffer_names_) {
          const Tensor* buffer = find(state_key(i, name));
          if (buffer && !(buffer->defined() && buffer->shape() == param.shape() && buffer->dtype() == param.dtype()))
            mismatched.push_back(state_key(i, name) + " (expected " + std::string(dtype_name(param.dtype())) +
                                 param.shape().to_string() + " like its parameter, got " + describe_entry(*buffer) +
                                 ")");
        }
      }
      ++i;
    }
  }
  for (const auto& [key, t] : state)
    if (!known.contains(key)) unexpected.push_back(key);
  if (missing.empty() && mismatched.empty() && unexpected.empty()) return;
  std::string msg = name_ + ".load_state_dict:";
  if (!missing.empty()) msg += " missing keys: " + join(missing) + ";";
  if (!unexpected.empty()) msg += " unexpected keys: " + join(unexpected) + ";";
  if (!mismatched.empty()) msg += " mismatched: " + join(mismatched) + ";";
  msg.pop_back();
  throw Error(msg);
}

void Optimizer::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  NoGradGuard no_grad;
  std::vector<ParamState> loaded(state_.size());
  size_t i = 0;
  for (const Group& group : groups_) {
    for (const Tensor& param : group.params) {
      ParamState& st = loaded[i];
      if (const auto step = state.find(state_key(i, "step")); step != state.end()) {
        st.step = read_i64(step->second);
        for (const std::string& name : buffer_names_) {
          const Tensor& src = state.at(state_key(i, name));
          // A fresh copy: the dict's tensors may be another optimizer's live buffers.
          Tensor buffer = empty(param.shape(), param.dtype(), param.device());
          buffer.copy_(src.to(param.device()));
          st.buffers.emplace(name, buffer);
        }
      }
      ++i;
    }
  }
  for (size_t g = 0; g < groups_.size(); ++g) groups_[g].lr = state.at(lr_key(g)).item();
  state_ = std::move(loaded);
}

}  // namespace subtb::nn
