#pragma once
#include "kernels/backend.h"
#include "nn/optim.h"

namespace subtb::nn {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  // Adam adds weight_decay * param to the gradient (L2); AdamW decays the parameter by
  // lr * weight_decay directly (PyTorch's AdamW default is 0.01: set it explicitly).
  double weight_decay = 0.0;
};

// Adam with PyTorch's update (bias-corrected moments, eps outside the square root),
// one fused kernel per parameter. State per parameter: "exp_avg", "exp_avg_sq", and its
// own step count, so that a parameter that missed updates is corrected for the steps it
// actually took.
class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, const AdamOptions& options = {});
  Adam(std::vector<Tensor> params, const AdamOptions& options = {})
      : Adam(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

  void step() override;
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled_weight_decay);

 private:
  AdamOptions options_;
  bool decoupled_weight_decay_;
};

// Adam with decoupled weight decay (Loshchilov & Hutter).
class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamOptions& options = {})
      : Adam("AdamW", std::move(groups), options, true) {}
  AdamW(std::vector<Tensor> params, const AdamOptions& options = {})
      : AdamW(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}
};

// One fused Adam/AdamW update of `param` and its moments, in place (the kernel is
// Backend::adam_update). All four tensors share shape, dtype and device. Refused on a
// parameter that requires grad while grad mode is on, like every in-place op.
void adam_update_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const AdamParams& params);

}  // namespace subtb::nn
