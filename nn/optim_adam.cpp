#include "nn/optim_adam.h"

#include <cmath>

#include "tensor/ops.h"

namespace subtb::nn {

namespace {
constexpr const char* kExpAvg = "exp_avg";
constexpr const char* kExpAvgSq = "exp_avg_sq";
}  // namespace

void adam_update_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const AdamParams& params) {
  SUBTB_CHECK(is_floating(param.dtype()), "adam_update_: expected a floating parameter, got ", describe(param));
  for (const Tensor* t : {&grad, &exp_avg, &exp_avg_sq})
    SUBTB_CHECK(t->shape() == param.shape() && t->dtype() == param.dtype() && t->device() == param.device(),
                "adam_update_: ", describe(*t), " does not match the parameter ", describe(param));
  SUBTB_CHECK(!(autograd::grad_enabled() && param.requires_grad()), "adam_update_: in-place update of ",
              describe(param), ", which requires grad, while grad mode is on (wrap it in NoGradGuard)");
  SUBTB_CHECK(params.step >= 1, "adam_update_: step must be at least 1, got ", params.step);
  backend(param.device()).adam_update(param, grad, exp_avg, exp_avg_sq, params);
  for (const Tensor* t : {&param, &exp_avg, &exp_avg_sq}) t->storage()->bump_version();
}

Adam::Adam(std::vector<ParamGroup> groups, const AdamOptions& options)
    : Adam("Adam", std::move(groups), options, false) {}

Adam::Adam(std::string name, std::vector<ParamGroup> groups, const AdamOptions& options, bool decoupled_weight_decay)
    : Optimizer(std::move(name), std::move(groups), options.lr, options.weight_decay, {kExpAvg, kExpAvgSq}),
      options_(options),
      decoupled_weight_decay_(decoupled_weight_decay) {
  SUBTB_CHECK(options.beta1 >= 0 && options.beta1 < 1 && options.beta2 >= 0 && options.beta2 < 1, this->name(),
              ": betas must be in [0, 1), got (", options.beta1, ", ", options.beta2, ")");
  SUBTB_CHECK(std::isfinite(options.eps) && options.eps >= 0, this->name(), ": invalid eps ", options.eps);
}

void Adam::step() {
  for_each_update([&](const Tensor& param, const Tensor& grad, const Group& group, ParamState& st) {
    if (st.step == 1) {
      st.buffers[kExpAvg] = zeros(param.shape(), param.dtype(), param.device());
      st.buffers[kExpAvgSq] = zeros(param.shape(), param.dtype(), param.device());
    }
    const AdamParams params{.lr = group.lr,
                            .beta1 = options_.beta1,
                            .beta2 = options_.beta2,
                            .eps = options_.eps,
                            .weight_decay = group.weight_decay,
                            .decoupled_weight_decay = decoupled_weight_decay_,
                            .step = st.step};
    adam_update_(param, grad, st.buffers.at(kExpAvg), st.buffers.at(kExpAvgSq), params);
  });
}

}  // namespace subtb::nn
