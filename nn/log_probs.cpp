#include "nn/log_probs.h"

#include <vector>

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

Tensor continuation_log_probs(const Tensor& hidden, const std::function<Tensor(const Tensor&)>& head,
                              const Tensor& tokens, const Tensor& mask) {
  SUBTB_CHECK(hidden.dim() == 3 && tokens.dim() == 2 && hidden.shape()[0] == tokens.shape()[0] &&
                  hidden.shape()[1] == tokens.shape()[1] && mask.shape() == tokens.shape() &&
                  mask.dtype() == DType::b8 && tokens.dtype() == DType::i64,
              "continuation_log_probs: hidden ", describe(hidden), ", tokens ", describe(tokens), " and mask ",
              describe(mask), " are not [B, T, dim], i64 [B, T] and bool [B, T]");
  const int64_t B = tokens.shape()[0], T = tokens.shape()[1], dim = hidden.shape()[2];
  // Position t - 1 predicts token t: the flat rows of hidden that count, the tokens they
  // predict, and where their log-probabilities land in the [B, T] result.
  const std::vector<bool> counts = mask.to_vector<bool>();
  const std::vector<int64_t> ids = tokens.to_vector<int64_t>();
  std::vector<int64_t> rows, targets, slots;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 1; t < T; ++t) {
      const int64_t i = b * T + t;
      if (!counts[static_cast<size_t>(i)]) continue;
      rows.push_back(i - 1);
      targets.push_back(ids[static_cast<size_t>(i)]);
      slots.push_back(i);
    }
  }
  // Nothing counts: the full path keeps the result attached to hidden's graph.
  if (rows.empty()) return continuation_log_probs(head(hidden), tokens, mask);
  const Device device = hidden.device();
  const int64_t n = static_cast<int64_t>(rows.size());
  const Tensor logits = head(index_select(hidden.reshape({B * T, dim}), 0, from_vector(rows, device)));  // [N, V]
  SUBTB_CHECK(logits.dim() == 2 && logits.shape()[0] == n, "continuation_log_probs: head gave ", describe(logits),
              " for hidden rows [", n, ", ", dim, "], expected [", n, ", V]");
  const Tensor picked = gather(logits, 1, from_vector(targets, {n, 1}, device)).squeeze(1);  // bounds-checked
  const Tensor log_probs = picked - logsumexp(logits, {1});
  const Tensor flat = zeros(Shape{B * T}, log_probs.dtype(), device);
  return index_add(flat, 0, from_vector(slots, device), log_probs).reshape({B, T});
}

}  // namespace subtb::nn
