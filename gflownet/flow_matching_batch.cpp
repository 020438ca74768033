#include "gflownet/flow_matching_batch.h"

#include <limits>
#include <memory>
#include <vector>

#include "autograd/grad_mode.h"
#include "gflownet/objectives.h"
#include "tensor/ops.h"

namespace subtb::gflownet {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Tensor forward_mask_tensor(const gfn::DiscreteEnv& env, std::span<const std::int32_t> states, int64_t rows) {
  std::unique_ptr<bool[]> masks(new bool[static_cast<size_t>(rows * env.num_actions())]);
  env.forward_masks(states, {masks.get(), static_cast<size_t>(rows * env.num_actions())});
  return from_buffer(masks.get(), Shape{rows, env.num_actions()}, DType::b8);
}

Tensor encode(const gfn::DiscreteEnv& env, std::span<const std::int32_t> states, int64_t rows) {
  std::vector<float> encoded(static_cast<size_t>(rows * env.encoding_dim()));
  env.encode(states, encoded);
  return from_vector<float>(encoded, Shape{rows, env.encoding_dim()});
}

}  // namespace

Tensor flow_matching_loss(const gfn::DiscreteEnv& env, Policy& policy, const SampledTrajectories& samples) {
  const int S = env.state_dim();
  const Device dev = policy.config().device;
  // The visited states after s_0: non-terminal ones first, then the terminal ones.
  std::vector<std::int32_t> inner, terminal;
  std::vector<double> log_rewards;
  for (int64_t b = 0; b < samples.batch; ++b) {
    const int64_t n = samples.lengths[static_cast<size_t>(b)];
    for (int64_t t = 1; t < n; ++t) inner.insert(inner.end(), samples.state(b, t), samples.state(b, t) + S);
    if (n > 0) {
      terminal.insert(terminal.end(), samples.state(b, n), samples.state(b, n) + S);
      log_rewards.push_back(samples.log_rewards[static_cast<size_t>(b)]);
    }
  }
  const int64_t num_inner = static_cast<int64_t>(inner.size()) / S,
                num_terminal = static_cast<int64_t>(log_rewards.size());
  std::vector<std::int32_t> visited = inner;
  visited.insert(visited.end(), terminal.begin(), terminal.end());
  const int64_t V = num_inner + num_terminal;

  gfn::ParentList parents;
  env.parents(visited, parents);
  const int64_t P = static_cast<int64_t>(parents.actions.size());
  int64_t max_parents = 1;
  for (int64_t v = 0; v < V; ++v) max_parents = std::max(max_parents, parents.count(v));

  // One forward pass: the inner states (their out-flows), then every parent (the edge into the child).
  std::vector<std::int32_t> rows = inner;
  rows.insert(rows.end(), parents.states.begin(), parents.states.end());
  const Tensor logits = policy.forward(encode(env, rows, num_inner + P).to(dev)).forward_logits;

  const Tensor out_logits = logits.narrow(0, 0, num_inner);
  const Tensor log_outflows =
      masked_fill(out_logits, logical_not(forward_mask_tensor(env, inner, num_inner).to(dev)), -kInf);
  std::vector<int64_t> parent_actions(parents.actions.begin(), parents.actions.end());
  const Tensor edge_flows =
      gather(logits.narrow(0, num_inner, P), 1, from_vector<int64_t>(parent_actions, Shape{P, 1}).to(dev)).squeeze(1);
  // [V, max_parents] edge flows into each visited state, -inf padded (index P reads the pad).
  std::vector<int64_t> slots(static_cast<size_t>(V * max_parents), P);
  for (int64_t v = 0; v < V; ++v) {
    for (int64_t k = 0; k < parents.count(v); ++k)
      slots[static_cast<size_t>(v * max_parents + k)] = parents.offsets[static_cast<size_t>(v)] + k;
  }
  const Tensor padded = cat({edge_flows, full({1}, -kInf, edge_flows.dtype(), dev)});
  const Tensor log_inflows = index_select(padded, 0, from_vector<int64_t>(slots).to(dev)).reshape({V, max_parents});

  const Tensor exit_flows = logsumexp(log_inflows.narrow(0, num_inner, num_terminal), {1});
  const Tensor rewards = from_vector<float>(std::vector<float>(log_rewards.begin(), log_rewards.end())).to(dev);
  return flow_matching(log_inflows.narrow(0, 0, num_inner), log_outflows, exit_flows, rewards);
}

double flow_matching_log_z(const gfn::DiscreteEnv& env, Policy& policy) {
  NoGradGuard no_grad;
  std::vector<std::int32_t> s0(static_cast<size_t>(env.state_dim()));
  env.reset(s0);
  const Tensor logits = policy.forward(encode(env, s0, 1)).forward_logits;
  const Tensor mask = forward_mask_tensor(env, s0, 1).to(logits.device());
  return logsumexp(masked_fill(logits, logical_not(mask), -kInf), {1}).item();
}

}  // namespace subtb::gflownet
