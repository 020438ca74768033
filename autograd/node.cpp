#include "autograd/node.h"

#include <atomic>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace subtb::autograd {

namespace {
std::atomic<uint64_t> g_next_sequence_nr{0};
}

Node::Node() : sequence_nr_(g_next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grad_outputs) {
  Tensor g = std::move(grad_outputs[0]);
  const std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!g.defined() || !leaf) return {};
  SUBTB_CHECK(g.shape() == leaf->shape && g.dtype() == leaf->dtype, "backward: gradient ", describe(g),
              " does not match its leaf (", leaf->dtype, leaf->shape, ")");
  if (!leaf->grad) {
    // Take the incoming buffer when nothing else can see it; otherwise copy, so that the
    // leaf's .grad never aliases another tensor (an in-place update of one would
    // silently change the other).
    const bool unique = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1 && g.is_contiguous();
    leaf->grad = unique ? g.impl_ptr() : g.clone().impl_ptr();
  } else {
    leaf->grad = add(Tensor(leaf->grad), g).impl_ptr();
  }
  return {};
}

Edge gradient_edge(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (impl->grad_fn) return {impl->grad_fn, impl->output_nr};
  if (!impl->requires_grad) return {};
  if (!impl->grad_accumulator) impl->grad_accumulator = std::make_shared<AccumulateGrad>(t.impl_ptr());
  return {impl->grad_accumulator, 0};
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

namespace {
void connect_output(const std::shared_ptr<Node>& node, const Tensor& out, int nr) {
  TensorImpl* impl = out.impl();
  impl->grad_fn = node;
  impl->output_nr = nr;
  impl->requires_grad = true;
}
}  // namespace

void record(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
            std::initializer_list<const Tensor*> outputs) {
  node->next.reserve(inputs.size());
  for (const Tensor* t : inputs) node->next.push_back(t->defined() ? gradient_edge(*t) : Edge{});
  int nr = 0;
  for (const Tensor* t : outputs) connect_output(node, *t, nr++);
}

void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
            const std::vector<Tensor>& outputs) {
  node->next.reserve(inputs.size());
  for (const Tensor& t : inputs) node->next.push_back(t.defined() ? gradient_edge(t) : Edge{});
  int nr = 0;
  for (const Tensor& t : outputs) connect_output(node, t, nr++);
}

}  // namespace subtb::autograd
