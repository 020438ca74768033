#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace subtb::autograd {

// Runs reverse-mode differentiation from `roots`, seeded with `seeds` (one per root, the
// same shape). Gradients accumulate into the `grad` of every leaf that requires grad.
// Without retain_graph the saved tensors of the graph are freed, and a second backward
// through it throws. Backward runs with grad mode off (no higher-order gradients).
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds, bool retain_graph);

// Gradients of `outputs` (seeded with `seeds`) with respect to `inputs`, returned
// instead of accumulated into .grad. An input the outputs do not depend on gets an
// undefined tensor.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& seeds,
                         const std::vector<Tensor>& inputs, bool retain_graph = false);

}  // namespace subtb::autograd
