#include "gflownet/trajectory_batch.h"

#include "tensor/ops.h"

namespace subtb::gflownet {

namespace {

constexpr const char* kOp = "TrajectoryBatch";

void check_field(const char* name, const Tensor& t, const Shape& leading, bool exact, DType dtype) {
  if (!t.defined()) return;
  bool ok = t.dim() >= leading.size() && (!exact || t.dim() == leading.size());
  for (int i = 0; ok && i < leading.size(); ++i) ok = t.shape()[i] == leading[i];
  SUBTB_CHECK(ok, kOp, ": ", name, " must be ", leading, exact ? "" : " + [...]", ", got ", describe(t));
  if (dtype == DType::f32) {
    SUBTB_CHECK(is_floating(t.dtype()), kOp, ": ", name, " must be floating, got ", describe(t));
  } else {
    SUBTB_CHECK(t.dtype() == dtype, kOp, ": ", name, " must be ", dtype, ", got ", describe(t));
  }
}

}  // namespace

int64_t TrajectoryBatch::max_length() const {
  for (const Tensor* t : {&log_pf, &log_pb, &actions, &is_exit}) {
    if (t->defined() && t->dim() >= 2) return t->shape()[1];
  }
  for (const Tensor* t : {&log_flow, &states, &log_reward_states, &log_pf_exit, &forward_masks, &backward_masks}) {
    if (t->defined() && t->dim() >= 2) return t->shape()[1] - 1;
  }
  SUBTB_THROW(kOp, ": no step or state field is set, so the padded length L is unknown");
}

void TrajectoryBatch::validate() const {
  SUBTB_CHECK(lengths.defined(), kOp, ": lengths must be set");
  SUBTB_CHECK(lengths.dim() == 1 && lengths.dtype() == DType::i64, kOp, ": lengths must be i64[B], got ",
              describe(lengths));
  const int64_t B = batch_size(), L = max_length();
  // f32 stands for "any floating dtype" below.
  check_field("actions", actions, {B, L}, true, DType::i64);
  check_field("is_exit", is_exit, {B, L}, true, DType::b8);
  check_field("log_pf", log_pf, {B, L}, true, DType::f32);
  check_field("log_pb", log_pb, {B, L}, true, DType::f32);
  check_field("states", states, {B, L + 1}, false, states.defined() ? states.dtype() : DType::f32);
  check_field("forward_masks", forward_masks, {B, L + 1}, false, DType::b8);
  check_field("backward_masks", backward_masks, {B, L + 1}, false, DType::b8);
  check_field("log_flow", log_flow, {B, L + 1}, true, DType::f32);
  check_field("log_reward_states", log_reward_states, {B, L + 1}, true, DType::f32);
  check_field("log_pf_exit", log_pf_exit, {B, L + 1}, true, DType::f32);
  check_field("log_reward", log_reward, {B}, true, DType::f32);
  check_field("complete", complete, {B}, true, DType::b8);
  const Tensor bad = logical_or(lt(lengths, 0.0), gt(lengths, static_cast<double>(L)));
  SUBTB_CHECK(!any(bad).item(), kOp, ": lengths must lie in [0, ", L, "], got ", lengths.to_string());
}

Tensor TrajectoryBatch::log_flow_with_terminal_reward() const {
  SUBTB_CHECK(log_flow.defined() && log_reward.defined(), kOp,
              ": log_flow_with_terminal_reward needs log_flow and log_reward");
  validate();
  const int64_t L = max_length();
  Tensor last = eq(arange(L + 1, DType::i64, lengths.device()).unsqueeze(0), lengths.unsqueeze(1));  // [B, L+1]
  if (complete.defined()) last = logical_and(last, complete.unsqueeze(1));
  return where(last, log_reward.unsqueeze(1).expand(log_flow.shape()), log_flow);
}

}  // namespace subtb::gflownet
