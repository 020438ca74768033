#include "nn/log_probs.h"

#include "tensor/ops.h"

namespace subtb::nn {

Tensor token_log_probs(const Tensor& logits, const Tensor& targets, const Tensor& mask) {
  SUBTB_CHECK(logits.dim() == 3 && is_floating(logits.dtype()), "token_log_probs: logits ", describe(logits),
              " are not floating [B, T, V]");
  const int64_t B = logits.shape()[0], T = logits.shape()[1];
  SUBTB_CHECK(targets.dtype() == DType::i64 && targets.dim() == 2 && targets.shape()[0] == B && targets.shape()[1] == T,
              "token_log_probs: targets ", describe(targets), " are not i64 [", B, ", ", T, "] for logits ",
              describe(logits));
  SUBTB_CHECK(!mask.defined() || (mask.dtype() == DType::b8 && mask.shape() == targets.shape()),
              "token_log_probs: mask ", describe(mask), " is not bool [", B, ", ", T, "]");
  const Tensor picked = gather(logits, 2, targets.unsqueeze(2)).squeeze(2);  // bounds-checked
  const Tensor log_probs = picked - logsumexp(logits, {2});
  // where, not a product, so that a -inf log-probability outside the mask gives 0, not NaN.
  return mask.defined() ? where(mask, log_probs, 0.0) : log_probs;
}

Tensor continuation_log_probs(const Tensor& logits, const Tensor& tokens, const Tensor& mask) {
  SUBTB_CHECK(logits.dim() == 3 && tokens.dim() == 2 && mask.dim() == 2 && logits.shape()[0] == tokens.shape()[0] &&
                  logits.shape()[1] == tokens.shape()[1] && mask.shape() == tokens.shape() && mask.dtype() == DType::b8,
              "continuation_log_probs: logits ", describe(logits), ", tokens ", describe(tokens), " and mask ",
              describe(mask), " are not [B, T, V], [B, T] and bool [B, T]");
  const int64_t T = tokens.shape()[1];
  if (T < 2) return zeros(Shape{tokens.shape()[0], T}, logits.dtype(), logits.device());
  const Tensor shifted = token_log_probs(logits.narrow(1, 0, T - 1), tokens.narrow(1, 1, T - 1).contiguous(),
                                         mask.narrow(1, 1, T - 1).contiguous());
  return pad(shifted, {1, 0});  // column 0 predicts nothing
}

}  // namespace subtb::nn
