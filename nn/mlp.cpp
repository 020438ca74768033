#include "nn/mlp.h"

#include "nn/norm.h"

namespace subtb::nn {

MLP::MLP(const MLPOptions& options, const ParamInit& init) {
  const std::vector<int64_t>& sizes = options.sizes;
  SUBTB_CHECK(sizes.size() >= 2, "MLP: sizes must list the input and output sizes at least, got ", sizes.size(),
              " entries");
  trunk = register_module("trunk", std::make_shared<Sequential>());
  for (size_t i = 0; i + 2 < sizes.size(); ++i) {
    trunk->push_back(std::make_shared<Linear>(sizes[i], sizes[i + 1], options.bias, init));
    if (options.layer_norm) trunk->push_back(std::make_shared<LayerNorm>(sizes[i + 1], 1e-5, true, init));
    trunk->push_back(std::make_shared<ActivationLayer>(options.activation));
  }
  head = register_module("head", std::make_shared<Linear>(sizes[sizes.size() - 2], sizes.back(), options.bias, init));
}

}  // namespace subtb::nn
