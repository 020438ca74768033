#pragma once
// The critic of PPO fine-tuning (RL4VLM): a Linear map from the language model's last
// hidden state to a scalar value V(s_t). The caller picks the hidden state, normally the
// final-norm output at the last prompt position of state s_t.
#include <cstdint>
#include <memory>

#include "nn/init.h"
#include "nn/linear.h"
#include "nn/module.h"

namespace subtb::gflownet::vlm {

class ValueHead : public nn::Layer {
 public:
  explicit ValueHead(int64_t hidden_dim, const nn::ParamInit& init = {});
  // hidden: [..., hidden_dim] -> values [...].
  Tensor forward(const Tensor& hidden) override;

  std::shared_ptr<nn::Linear> proj;  // parameters "proj.weight", "proj.bias"
};

}  // namespace subtb::gflownet::vlm
