#pragma once
// Flow matching on sampled trajectories. The P_F head's logits are read as log edge flows
// log F(s, a) (so P_F is their softmax, as in torchgfn's flow matching); for every state
// the trajectories visit after s_0:
//   non-terminal s: logsumexp over its parents' edges into s = logsumexp over its valid actions
//   terminal x:     logsumexp over its parents' edges into x = log R(x)
// With an exit action the terminal state has one parent, so the second condition is the
// usual F(x, exit) = R(x). Parents come from the environment (DiscreteEnv::parents).
#include "envs/gfn/discrete_env.h"
#include "gflownet/policy.h"
#include "gflownet/sampler.h"
#include "tensor/tensor.h"

namespace subtb::gflownet {

// The scalar flow_matching loss (objectives.h) of the states `samples` visits; one policy
// forward over the visited states and their parents.
Tensor flow_matching_loss(const gfn::DiscreteEnv& env, Policy& policy, const SampledTrajectories& samples);

// log of the total edge flow out of s_0 under the policy's logits: the fm model's log Z.
double flow_matching_log_z(const gfn::DiscreteEnv& env, Policy& policy);

}  // namespace subtb::gflownet
