#include "nn/feed_forward.h"

#include "tensor/ops.h"

namespace subtb::nn {

FeedForwardKind parse_feed_forward_kind(std::string_view name) {
  if (name == "swiglu") return FeedForwardKind::swiglu;
  if (name == "gelu") return FeedForwardKind::gelu;
  if (name == "silu") return FeedForwardKind::silu;
  SUBTB_THROW("FeedForward: unknown kind '", name, "' (choose swiglu, gelu or silu)");
}

std::string_view feed_forward_kind_name(FeedForwardKind kind) {
  switch (kind) {
    case FeedForwardKind::swiglu:
      return "swiglu";
    case FeedForwardKind::gelu:
      return "gelu";
    case FeedForwardKind::silu:
      return "silu";
  }
  return "?";
}

FeedForward::FeedForward(const FeedForwardConfig& c, const ParamInit& init) : kind_(c.kind) {
  SUBTB_CHECK(c.dim > 0 && c.hidden > 0, "FeedForward: dim and hidden must be positive, got ", c.dim, " and ",
              c.hidden);
  if (kind_ == FeedForwardKind::swiglu)
    gate_proj = register_module("gate_proj", std::make_shared<Linear>(c.dim, c.hidden, c.bias, init));
  up_proj = register_module("up_proj", std::make_shared<Linear>(c.dim, c.hidden, c.bias, init));
  down_proj = register_module("down_proj", std::make_shared<Linear>(c.hidden, c.dim, c.bias, init));
}

Tensor FeedForward::forward(const Tensor& x) {
  const Tensor up = up_proj->forward(x);
  switch (kind_) {
    case FeedForwardKind::swiglu:
      return down_proj->forward(silu(gate_proj->forward(x)) * up);
    case FeedForwardKind::gelu:
      return down_proj->forward(gelu(up));
    case FeedForwardKind::silu:
      return down_proj->forward(silu(up));
  }
  SUBTB_THROW("FeedForward: unknown kind");
}

}  // namespace subtb::nn
