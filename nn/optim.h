#pragma once
// Optimizers: parameter groups with their own learning rate and weight decay (so that a
// GFlowNet's log Z can learn faster than the policy), per-parameter state that a
// checkpoint saves and restores exactly, and step()s that run under NoGradGuard and
// leave alone every parameter whose gradient is undefined.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "nn/state_dict.h"

namespace subtb::nn {

// A set of parameters with its own hyperparameters; the unset ones take the optimizer's.
struct ParamGroup {
  std::vector<Tensor> params;
  std::optional<double> lr = std::nullopt;
  std::optional<double> weight_decay = std::nullopt;
};

class Optimizer {
 public:
  struct Group {
    std::vector<Tensor> params;
    double lr;       // what step() uses
    double base_lr;  // the lr the group was created with, which scale_lr multiplies
    double weight_decay;
  };
  // Per-parameter state, made on the parameter's first update.
  struct ParamState {
    int64_t step = 0;                       // updates applied to this parameter
    std::map<std::string, Tensor> buffers;  // e.g. exp_avg, exp_avg_sq, momentum_buffer
  };

  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;
  // Resets every parameter's gradient to undefined.
  void zero_grad();

  const std::string& name() const { return name_; }
  const std::vector<Group>& groups() const { return groups_; }
  void set_lr(size_t group, double lr);
  // Sets every group's lr to factor * its base_lr: how a schedule drives the optimizer.
  void scale_lr(double factor);

  // Parameters are numbered through the groups in order.
  size_t num_params() const { return state_.size(); }
  const ParamState& state(size_t param_index) const { return state_.at(param_index); }

  // The checkpoint form: "groups.<g>.lr" (f64 []) for every group, and for every
  // parameter with state "state.<i>.step" (i64 []) and "state.<i>.<buffer>" (the
  // parameter's shape and dtype). The tensors are the live buffers, not copies.
  StateDict state_dict() const;
  // Checks the whole dict first (every group's lr, complete state per parameter, shapes
  // and dtypes, no unexpected keys) and changes nothing when it throws. Copies the
  // tensors (to the parameters' devices); parameters absent from the dict lose their state.
  void load_state_dict(const StateDict& state);
  void check_state_dict(const StateDict& state) const;

 protected:
  // `buffer_names` lists the buffers every parameter's state holds, for load_state_dict.
  Optimizer(std::string name, std::vector<ParamGroup> groups, double lr, double weight_decay,
            std::vector<std::string> buffer_names);

  // Calls f(param, grad, group, state) under NoGradGuard for every parameter whose
  // gradient is defined, with state.step already counting this update.
  template <class F>
  void for_each_update(F&& f) {
    NoGradGuard no_grad;
    size_t i = 0;
    for (const Group& group : groups_) {
      for (const Tensor& param : group.params) {
        ParamState& st = state_[i++];
        const Tensor grad = param.grad();
        if (!grad.defined()) continue;
        ++st.step;
        f(param, grad, group, st);
      }
    }
  }

 private:
  std::string name_;
  std::vector<Group> groups_;
  std::vector<ParamState> state_;  // by parameter index
  std::vector<std::string> buffer_names_;
};

}  // namespace subtb::nn
