#pragma once
// The autograd graph. Every differentiable op that runs while grad mode is on and has
// an input that requires grad creates one Node: the op's vjp, holding what the vjp
// needs (saved tensors, shapes, scalars) and one Edge per input that leads to the node
// that produced that input (or to the input leaf's AccumulateGrad). Backward walks the
// edges in reverse topological order (autograd/engine.cpp).
#include <cstdint>
#include <memory>
#include <vector>

#include "tensor/tensor.h"

namespace subtb::autograd {

class Node;

struct Edge {
  std::shared_ptr<Node> node;  // null: that input needs no gradient
  int input_nr = 0;            // which of `node`'s outputs the gradient flows into
  bool valid() const { return node != nullptr; }
};

class Node {
 public:
  Node();
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // The op's name, used in error messages ("exp", "matmul", ...).
  virtual const char* name() const = 0;
  // Given the gradients of this node's outputs (undefined where no gradient arrived,
  // which a vjp treats as zeros), returns one gradient per input, in the order of
  // `next`; an undefined entry means no gradient for that input.
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) = 0;
  // Frees saved tensors after a backward without retain_graph.
  virtual void release() {}

  int num_outputs() const { return num_outputs_; }
  uint64_t sequence_nr() const { return sequence_nr_; }

  std::vector<Edge> next;  // one per input of the op
  bool released = false;

 protected:
  int num_outputs_ = 1;

 private:
  uint64_t sequence_nr_;  // creation order: later nodes run first among the ready ones
};

// The sink of a leaf's gradient: adds the incoming gradient to leaf.grad.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf) : leaf_(leaf) {}
  const char* name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override;

 private:
  // The leaf owns this node (TensorImpl::grad_accumulator). A leaf that is gone can have
  // its gradient read by no one, so accumulating into it is skipped.
  std::weak_ptr<TensorImpl> leaf_;
};

// Edge to where the gradient of `t` should go: its grad_fn, its leaf accumulator, or
// nothing when `t` does not require grad.
Edge gradient_edge(const Tensor& t);

// True when grad mode is on and any of `inputs` requires grad: the op must record.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Connects `node` into the graph: its edges come from `inputs`, and each of `outputs`
// gets `node` as grad_fn (output_nr = its position) and requires_grad = true.
void record(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
            std::initializer_list<const Tensor*> outputs);
void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
            const std::vector<Tensor>& outputs);

}  // namespace subtb::autograd
