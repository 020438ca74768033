#pragma once
// Neural-network building blocks that are primitives (fused kernels) or small composites.
#include <optional>

#include "tensor/tensor.h"

namespace subtb {

class Generator;

Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

enum class Reduction { none, mean, sum };

struct CrossEntropyOptions {
  int64_t ignore_index = -100;     // targets equal to it contribute nothing
  double label_smoothing = 0.0;    // in [0, 1]
  Reduction reduction = Reduction::mean;  // mean over non-ignored targets
};
// logits: [N, C] (or [C]), target: [N] (or []) i64 class indices.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});
// log_probs: [N, C], target: [N]; -log_probs[n, target[n]], same ignore/reduction rules.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index = -100,
                Reduction reduction = Reduction::mean);

// Normalises over the last dim. weight and bias ([D]) may be undefined.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps = 1e-6);

// Zeroes each element with probability p and scales the rest by 1/(1-p); identity when
// !training or p == 0.
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

// weight: [V, D], indices: any shape of i64 in [0, V) -> indices.shape + [D].
Tensor embedding(const Tensor& weight, const Tensor& indices);
// indices (i64) -> indices.shape + [num_classes], dtype i64 (as in PyTorch) unless given.
Tensor one_hot(const Tensor& indices, int64_t num_classes, DType dtype = DType::i64);

}  // namespace subtb
