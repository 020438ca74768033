#include "gflownet/vlm/value_head.h"

#include "tensor/ops.h"

namespace subtb::gflownet::vlm {

ValueHead::ValueHead(int64_t hidden_dim, const nn::ParamInit& init)
    : proj(register_module("proj", std::make_shared<nn::Linear>(hidden_dim, 1, true, init))) {}

Tensor ValueHead::forward(const Tensor& hidden) {
  SUBTB_CHECK(hidden.dim() >= 1 && hidden.shape()[hidden.dim() - 1] == proj->in_features(),
              "ValueHead: hidden must be [..., ", proj->in_features(), "], got ", describe(hidden));
  return proj->forward(hidden).squeeze(hidden.dim() - 1);
}

}  // namespace subtb::gflownet::vlm
