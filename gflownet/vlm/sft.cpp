#include "gflownet/vlm/sft.h"

#include "nn/log_probs.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb::gflownet::vlm {

Tensor sft_loss(const Tensor& logits, const Tensor& targets, const Tensor& mask, const SftLossOptions& options) {
  constexpr const char* op = "sft_loss";
  subtb::detail::check_floating(op, logits);
  SUBTB_CHECK(logits.dim() == 3, op, ": logits must be [B, T, V], got ", describe(logits));
  const Shape positions{logits.shape()[0], logits.shape()[1]};
  SUBTB_CHECK(targets.shape() == positions && targets.dtype() == DType::i64, op, ": targets must be i64 ", positions,
              ", got ", describe(targets));
  SUBTB_CHECK(mask.shape() == positions && mask.dtype() == DType::b8, op, ": mask must be bool ", positions, ", got ",
              describe(mask));
  const Tensor counted =
      options.train_done ? mask : logical_and(mask, ne(targets, static_cast<double>(options.done_id)));
  const double count = sum(counted.to(DType::i64)).item();
  SUBTB_CHECK(count > 0, op, ": no position to train on (mask selects no token",
              options.train_done ? "" : " other than [DONE]", ")");
  // Masked targets may hold any id (padding): send them to 0 so the gather stays in range.
  const Tensor safe_targets = where(counted, targets, 0.0);
  return -sum(nn::token_log_probs(logits, safe_targets, counted)) / count;
}

}  // namespace subtb::gflownet::vlm
