#include "gflownet/policy.h"

#include "tensor/ops.h"

namespace subtb::gflownet {

std::string_view to_string(BackwardPolicy pb) { return pb == BackwardPolicy::uniform ? "uniform" : "learned"; }

BackwardPolicy parse_backward_policy(std::string_view name) {
  if (name == "uniform") return BackwardPolicy::uniform;
  if (name == "learned") return BackwardPolicy::learned;
  SUBTB_THROW("backward policy: unknown name '", name, "' (choose uniform or learned)");
}

namespace {

int64_t head_width(const PolicyConfig& c) {
  return c.num_actions + (c.backward == BackwardPolicy::learned ? c.num_backward_actions : 0) + 1;
}

}  // namespace

Policy::Policy(const PolicyConfig& config, Generator& gen) : config_(config) {
  SUBTB_CHECK(config.encoding_dim > 0 && config.num_actions > 0 && config.hidden > 0 && config.layers >= 1,
              "Policy: needs positive encoding_dim, num_actions and hidden and at least one layer, got encoding_dim ",
              config.encoding_dim, ", num_actions ", config.num_actions, ", hidden ", config.hidden, ", layers ",
              config.layers);
  SUBTB_CHECK(config.backward == BackwardPolicy::uniform || config.num_backward_actions > 0,
              "Policy: a learned P_B needs num_backward_actions > 0");
  nn::MLPOptions options;
  options.sizes.push_back(config.encoding_dim);
  for (int64_t i = 0; i < config.layers; ++i) options.sizes.push_back(config.hidden);
  options.sizes.push_back(head_width(config));
  options.activation = nn::Activation::leaky_relu;
  net_ = register_module("net", std::make_shared<nn::MLP>(options, nn::ParamInit{DType::f32, kCPU, &gen}));
  log_z = register_parameter("log_z", zeros({}));
  if (config.device != kCPU) to(config.device);
}

PolicyOutput Policy::forward(const Tensor& encoded) {
  SUBTB_CHECK(encoded.dim() == 2 && encoded.shape()[1] == config_.encoding_dim, "Policy: expected [N, ",
              config_.encoding_dim, "] encoded states, got ", describe(encoded));
  const Tensor out = net_->forward(encoded.to(config_.device));
  const int64_t A = config_.num_actions;
  PolicyOutput result;
  result.forward_logits = out.narrow(1, 0, A);
  if (config_.backward == BackwardPolicy::learned) {
    result.backward_logits = out.narrow(1, A, config_.num_backward_actions);
  }
  result.log_flow = out.select(1, out.shape()[1] - 1);
  return result;
}

std::vector<Tensor> Policy::network_parameters() const {
  std::vector<Tensor> params;
  for (const Tensor& p : parameters()) {
    if (!p.is_same(log_z)) params.push_back(p);
  }
  return params;
}

}  // namespace subtb::gflownet
