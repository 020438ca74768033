#pragma once
// The GFlowNet model of the papers' discrete experiments: one MLP trunk (LeakyReLU) shared
// by three heads, P_F logits, P_B logits (when P_B is learned) and log F, plus the scalar
// log Z of trajectory balance. The heads are one Linear whose output is split, so a
// forward pass costs one matmul per layer whichever objective reads it.
#include <cstdint>
#include <string_view>
#include <vector>

#include "nn/mlp.h"
#include "nn/module.h"
#include "tensor/ops/random.h"

namespace subtb::gflownet {

// Uniform over the parents (the default), or a learned head tied to P_F's trunk.
enum class BackwardPolicy { uniform, learned };
std::string_view to_string(BackwardPolicy pb);
// "uniform" or "learned"; throws listing the choices.
BackwardPolicy parse_backward_policy(std::string_view name);

struct PolicyConfig {
  int64_t encoding_dim = 0;
  int64_t num_actions = 0;
  int64_t num_backward_actions = 0;
  int64_t hidden = 256;
  int64_t layers = 2;  // hidden layers of the trunk, >= 1
  BackwardPolicy backward = BackwardPolicy::uniform;
  // Where the parameters live and the forward pass runs. The weights are drawn on the
  // host and moved, so a seed gives the same initial policy on every device.
  Device device = kCPU;
};

// The heads' outputs for N encoded states. Unnormalised logits: masking and the
// log_softmax are the caller's, who knows the valid actions.
struct PolicyOutput {
  Tensor forward_logits;   // [N, num_actions]
  Tensor backward_logits;  // [N, num_backward_actions]; undefined for a uniform P_B
  Tensor log_flow;         // [N]
};

class Policy : public nn::Module {
 public:
  // Weights drawn from `gen`; log Z starts at 0.
  Policy(const PolicyConfig& config, Generator& gen);

  const PolicyConfig& config() const { return config_; }
  // encoded: [N, encoding_dim] f32 on any device (moved to the policy's); the outputs are
  // on the policy's device.
  PolicyOutput forward(const Tensor& encoded);

  // The learned scalar of trajectory balance (0-d f32).
  Tensor log_z;
  // Every parameter but log_z: what trains at the network's learning rate.
  std::vector<Tensor> network_parameters() const;

 private:
  PolicyConfig config_;
  std::shared_ptr<nn::MLP> net_;
};

}  // namespace subtb::gflownet
