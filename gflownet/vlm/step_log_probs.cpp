#include "gflownet/vlm/step_log_probs.h"

#include <cmath>

#include "nn/log_probs.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb::gflownet::vlm {

namespace {

// The answer layout's invariants, checked on the host (the index tensors are small).
void check_answer(const char* op, const Tensor& token_log_probs, const AnswerTokens& answer, int64_t num_steps) {
  subtb::detail::check_floating(op, token_log_probs);
  SUBTB_CHECK(token_log_probs.dim() == 2, op, ": token_log_probs must be [B, T], got ", describe(token_log_probs));
  const Shape& shape = token_log_probs.shape();
  SUBTB_CHECK(answer.step_index.shape() == shape && answer.step_index.dtype() == DType::i64, op,
              ": step_index must be i64 ", shape, ", got ", describe(answer.step_index));
  SUBTB_CHECK(answer.action_mask.shape() == shape && answer.action_mask.dtype() == DType::b8, op,
              ": action_mask must be bool ", shape, ", got ", describe(answer.action_mask));
  SUBTB_CHECK(answer.cot_mask.shape() == shape && answer.cot_mask.dtype() == DType::b8, op, ": cot_mask must be bool ",
              shape, ", got ", describe(answer.cot_mask));
  SUBTB_CHECK(num_steps >= 0, op, ": num_steps must be >= 0, got ", num_steps);
  if (token_log_probs.numel() == 0) return;
  const int64_t lo = static_cast<int64_t>(amin(answer.step_index).item());
  const int64_t hi = static_cast<int64_t>(amax(answer.step_index).item());
  SUBTB_CHECK(lo >= -1 && hi < num_steps, op, ": step_index must lie in [-1, ", num_steps, "), got values in [", lo,
              ", ", hi, "]");
  SUBTB_CHECK(any(logical_and(answer.action_mask, answer.cot_mask)).item() == 0, op,
              ": a token is in both action_mask and cot_mask");
  const Tensor counted = logical_or(answer.action_mask, answer.cot_mask);
  SUBTB_CHECK(any(logical_and(counted, lt(answer.step_index, 0.0))).item() == 0, op,
              ": a token in action_mask or cot_mask has step_index -1");
}

}  // namespace

Tensor step_log_pf(const Tensor& token_log_probs, const AnswerTokens& answer, int64_t num_steps, double lambda_cot) {
  constexpr const char* op = "step_log_pf";
  SUBTB_CHECK(std::isfinite(lambda_cot) && lambda_cot >= 0, op, ": lambda_cot must be finite and >= 0, got ",
              lambda_cot);
  check_answer(op, token_log_probs, answer, num_steps);
  const int64_t B = token_log_probs.shape()[0];
  const Tensor out = zeros({B, num_steps}, token_log_probs.dtype(), token_log_probs.device());
  if (num_steps == 0) return out;

  // Two selections rather than one weighted mask, so that lambda_cot = 0 drops the CoT
  // exactly (0 * -inf would be NaN) and unmasked tokens never touch the result.
  Tensor weighted = where(answer.action_mask, token_log_probs, 0.0);
  if (lambda_cot != 0) weighted = weighted + where(answer.cot_mask, token_log_probs, 0.0) * lambda_cot;
  // Positions outside every step carry 0 here (checked above), so sending them to step 0 adds nothing.
  const Tensor index = where(ge(answer.step_index, 0.0), answer.step_index, 0.0);
  return scatter_add(out, 1, index, weighted);
}

Tensor episode_lengths(const Tensor& step_index) {
  SUBTB_CHECK(step_index.dim() == 2 && step_index.dtype() == DType::i64,
              "episode_lengths: step_index must be i64 [B, T], got ", describe(step_index));
  if (step_index.shape()[1] == 0) return zeros({step_index.shape()[0]}, DType::i64, step_index.device());
  return amax(step_index, {1}) + 1;  // step_index >= -1, so never negative
}

Tensor done_log_probs(const Tensor& first_answer_logits, double temperature, int64_t done_id) {
  constexpr const char* op = "done_log_probs";
  subtb::detail::check_floating(op, first_answer_logits);
  SUBTB_CHECK(first_answer_logits.dim() == 3, op, ": first_answer_logits must be [B, S + 1, V], got ",
              describe(first_answer_logits));
  const int64_t V = first_answer_logits.shape()[2];
  SUBTB_CHECK(done_id >= 0 && done_id < V, op, ": done_id ", done_id, " is outside the vocabulary of ", V, " tokens");
  SUBTB_CHECK(std::isfinite(temperature) && temperature > 0, op, ": temperature must be positive, got ", temperature);
  const Shape states{first_answer_logits.shape()[0], first_answer_logits.shape()[1]};
  const Tensor logits = temperature == 1.0 ? first_answer_logits : first_answer_logits / temperature;
  return nn::token_log_probs(logits, full(states, static_cast<double>(done_id), DType::i64, logits.device()));
}

}  // namespace subtb::gflownet::vlm
