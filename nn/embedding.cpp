#include "nn/embedding.h"

#include "tensor/ops.h"

namespace subtb::nn {

Embedding::Embedding(int64_t num_embeddings, int64_t dim, const ParamInit& init) {
  SUBTB_CHECK(num_embeddings >= 0 && dim >= 0, "Embedding: negative size (num_embeddings ", num_embeddings,
              ", dim ", dim, ")");
  weight = register_parameter("weight", randn(Shape{num_embeddings, dim}, init.dtype, init.device, init.gen));
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(weight, indices); }

}  // namespace subtb::nn
