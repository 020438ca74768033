#pragma once
// The position-wise feed-forward network of a transformer block. Parameter names follow
// Hugging Face's LLaMA (gate_proj, up_proj, down_proj):
//   swiglu:       down_proj(silu(gate_proj(x)) * up_proj(x))   (LLaMA; no gate_proj
//                 otherwise)
//   gelu / silu:  down_proj(act(up_proj(x)))                   (GPT-2 / ViT style)
#include <memory>
#include <string_view>

#include "nn/init.h"
#include "nn/linear.h"
#include "nn/module.h"

namespace subtb::nn {

enum class FeedForwardKind { swiglu, gelu, silu };

// "swiglu", "gelu", "silu"; anything else throws listing the choices.
FeedForwardKind parse_feed_forward_kind(std::string_view name);
std::string_view feed_forward_kind_name(FeedForwardKind kind);

struct FeedForwardConfig {
  int64_t dim = 0;
  int64_t hidden = 0;
  FeedForwardKind kind = FeedForwardKind::swiglu;
  bool bias = false;
};

class FeedForward : public Layer {
 public:
  explicit FeedForward(const FeedForwardConfig& config, const ParamInit& init = {});
  // x: [..., dim] -> [..., dim].
  Tensor forward(const Tensor& x) override;

  FeedForwardKind kind() const { return kind_; }

  std::shared_ptr<Linear> gate_proj;  // swiglu only
  std::shared_ptr<Linear> up_proj, down_proj;

 private:
  FeedForwardKind kind_;
};

}  // namespace subtb::nn
