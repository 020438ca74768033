#pragma once
#include "nn/init.h"
#include "nn/module.h"

namespace subtb::nn {

// A table of `num_embeddings` vectors of size `dim`, drawn from N(0, 1) as in PyTorch.
// forward: i64 indices of any shape -> indices.shape + [dim].
class Embedding : public Layer {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, const ParamInit& init = {});
  Tensor forward(const Tensor& indices) override;

  Tensor weight;  // [num_embeddings, dim]
};

}  // namespace subtb::nn
