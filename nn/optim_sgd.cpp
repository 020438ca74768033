#include "nn/optim_sgd.h"

#include <cmath>

#include "tensor/ops.h"

namespace subtb::nn {

namespace {

constexpr const char* kMomentumBuffer = "momentum_buffer";

std::vector<std::string> buffer_names(const SGDOptions& o) {
  if (o.momentum == 0.0) return {};
  return {kMomentumBuffer};
}

}  // namespace

SGD::SGD(std::vector<ParamGroup> groups, const SGDOptions& options)
    : Optimizer("SGD", std::move(groups), options.lr, options.weight_decay, buffer_names(options)),
      options_(options) {
  SUBTB_CHECK(std::isfinite(options.momentum) && options.momentum >= 0, "SGD: invalid momentum ", options.momentum);
  SUBTB_CHECK(std::isfinite(options.dampening), "SGD: invalid dampening ", options.dampening);
  SUBTB_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
              "SGD: nesterov needs momentum > 0 and dampening == 0 (got momentum ", options.momentum,
              ", dampening ", options.dampening, ")");
}

void SGD::step() {
  for_each_update([&](Tensor param, const Tensor& grad, const Group& group, ParamState& st) {
    Tensor d = group.weight_decay != 0.0 ? grad + param * group.weight_decay : grad;
    if (options_.momentum != 0.0) {
      if (st.step == 1) {
        st.buffers[kMomentumBuffer] = d.clone();
      } else {
        Tensor& buffer = st.buffers.at(kMomentumBuffer);
        mul_(buffer, options_.momentum);
        add_(buffer, d, 1.0 - options_.dampening);
      }
      const Tensor& buffer = st.buffers.at(kMomentumBuffer);
      d = options_.nesterov ? d + buffer * options_.momentum : buffer;
    }
    add_(param, d, -group.lr);
  });
}

}  // namespace subtb::nn
