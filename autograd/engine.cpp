// The backward engine: a dependency count per node, then a walk that runs a node once
// every node that feeds it a gradient has run. Among ready nodes the most recently
// created runs first, which keeps peak memory close to that of the forward pass.
#include "autograd/engine.h"

#include <queue>
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/ops.h"

namespace subtb::autograd {

namespace {

struct Later {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

void accumulate(std::vector<Tensor>& buffer, int slot, Tensor g) {
  if (!g.defined()) return;
  Tensor& dst = buffer[slot];
  dst = dst.defined() ? add(dst, g) : std::move(g);
}

// Runs the graph reachable from `roots`. With `capture` non-empty (autograd::grad), the
// gradient arriving at each captured (node, slot) is returned instead, and leaves'
// .grad are left untouched.
std::vector<Tensor> run(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds, bool retain_graph,
                        const std::vector<Edge>& capture) {
  SUBTB_CHECK(roots.size() == seeds.size(), "backward: ", roots.size(), " outputs but ", seeds.size(), " seeds");
  NoGradGuard no_grad;

  // Seeds: one per root, defaulting to 1 for one-element roots.
  std::vector<Edge> root_edges;
  std::vector<Tensor> root_grads;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    SUBTB_CHECK(r.requires_grad(), "backward: output ", i, " (", describe(r),
                ") does not require grad; nothing leads back to a tensor with requires_grad");
    Tensor seed = seeds[i];
    if (!seed.defined()) {
      SUBTB_CHECK(r.numel() == 1, "backward: a seed gradient is needed for the non-scalar output ", describe(r));
      seed = ones_like(r);
    }
    SUBTB_CHECK(seed.shape() == r.shape() && seed.dtype() == r.dtype() && seed.device() == r.device(),
                "backward: seed ", describe(seed), " does not match output ", describe(r));
    root_edges.push_back(gradient_edge(r));
    root_grads.push_back(seed);
  }

  // Dependencies: how many edges lead into each reachable node.
  std::unordered_map<Node*, int> deps;
  std::vector<Node*> stack;
  std::vector<Node*> visited;
  for (const Edge& e : root_edges) {
    if (deps.emplace(e.node.get(), 0).second) {
      stack.push_back(e.node.get());
      visited.push_back(e.node.get());
    }
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next) {
      if (!e.valid()) continue;
      auto [it, inserted] = deps.emplace(e.node.get(), 0);
      ++it->second;
      if (inserted) {
        stack.push_back(e.node.get());
        visited.push_back(e.node.get());
      }
    }
  }

  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  auto buffer_of = [&](Node* n) -> std::vector<Tensor>& {
    auto it = buffers.find(n);
    if (it == buffers.end()) it = buffers.emplace(n, std::vector<Tensor>(n->num_outputs())).first;
    return it->second;
  };
  for (size_t i = 0; i < root_edges.size(); ++i)
    accumulate(buffer_of(root_edges[i].node.get()), root_edges[i].input_nr, root_grads[i]);

  std::vector<Tensor> captured(capture.size());
  std::priority_queue<Node*, std::vector<Node*>, Later> ready;
  for (const Edge& e : root_edges)
    if (deps[e.node.get()] == 0) {
      deps[e.node.get()] = -1;  // queued
      ready.push(e.node.get());
    }

  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    std::vector<Tensor> grads = std::move(buffer_of(n));
    buffers.erase(n);

    for (size_t c = 0; c < capture.size(); ++c) {
      if (capture[c].node.get() == n) captured[c] = grads[capture[c].input_nr];
    }
    // autograd::grad returns gradients instead of accumulating them into leaves.
    if (!capture.empty() && dynamic_cast<AccumulateGrad*>(n)) continue;

    SUBTB_CHECK(!n->released, n->name(),
                ": backward through this part of the graph a second time, but its saved tensors were freed "
                "after the first backward (pass retain_graph = true to the first backward)");
    std::vector<Tensor> input_grads = n->apply(std::move(grads));
    SUBTB_CHECK(input_grads.size() == n->next.size() || input_grads.empty(), n->name(),
                ": vjp returned ", input_grads.size(), " gradients for ", n->next.size(), " inputs");
    for (size_t i = 0; i < n->next.size(); ++i) {
      const Edge& e = n->next[i];
      if (!e.valid()) continue;
      if (!input_grads.empty()) accumulate(buffer_of(e.node.get()), e.input_nr, std::move(input_grads[i]));
      if (--deps[e.node.get()] == 0) {
        deps[e.node.get()] = -1;
        ready.push(e.node.get());
      }
    }
  }

  if (!retain_graph) {
    for (Node* n : visited) {
      if (dynamic_cast<AccumulateGrad*>(n)) continue;
      n->release();
      n->released = true;
    }
  }
  return captured;
}

}  // namespace

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds, bool retain_graph) {
  run(roots, seeds, retain_graph, {});
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& seeds,
                         const std::vector<Tensor>& inputs, bool retain_graph) {
  std::vector<Edge> capture;
  for (size_t i = 0; i < inputs.size(); ++i) {
    SUBTB_CHECK(inputs[i].requires_grad(), "autograd::grad: input ", i, " (", describe(inputs[i]),
                ") does not require grad");
    capture.push_back(gradient_edge(inputs[i]));
  }
  std::vector<Tensor> seeds_or_default = seeds;
  seeds_or_default.resize(outputs.size());
  return run(outputs, seeds_or_default, retain_graph, capture);
}

}  // namespace subtb::autograd
