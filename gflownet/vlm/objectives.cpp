#include "gflownet/vlm/objectives.h"

#include <map>
#include <vector>

#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb::gflownet::vlm {

namespace {

// log P_B = 0 for every step: each history state has exactly one parent.
Tensor zero_log_pb(const Tensor& log_pf) { return zeros_like(log_pf); }

}  // namespace

void check_episode_batch(const char* op, const EpisodeBatch& batch) {
  subtb::detail::check_floating(op, batch.log_pf);
  SUBTB_CHECK(batch.log_pf.dim() == 2, op, ": log_pf must be [B, S], got ", describe(batch.log_pf));
  const int64_t B = batch.log_pf.shape()[0];
  const int64_t S = batch.log_pf.shape()[1];
  const Shape states{B, S + 1};
  SUBTB_CHECK(batch.log_done.shape() == states, op, ": log_done must be [B, S + 1] = ", states, ", got ",
              describe(batch.log_done));
  SUBTB_CHECK(batch.log_reward.shape() == states, op, ": log_reward must be [B, S + 1] = ", states, ", got ",
              describe(batch.log_reward));
  subtb::detail::check_same_dtype(op, batch.log_pf, batch.log_done);
  subtb::detail::check_same_dtype(op, batch.log_pf, batch.log_reward);
  SUBTB_CHECK(batch.lengths.shape() == (Shape{B}) && batch.lengths.dtype() == DType::i64, op, ": lengths must be i64[",
              B, "], got ", describe(batch.lengths));
  if (B == 0) return;
  const double lo = amin(batch.lengths).item();
  const double hi = amax(batch.lengths).item();
  SUBTB_CHECK(lo >= 0 && hi <= static_cast<double>(S), op, ": lengths must lie in [0, ", S, "], got values in [", lo,
              ", ", hi, "]");
}

Tensor log_pf_with_exit(const EpisodeBatch& batch) {
  const int64_t B = batch.log_pf.shape()[0];
  const int64_t S = batch.log_pf.shape()[1];
  const Tensor padded = cat({batch.log_pf, zeros({B, 1}, batch.log_pf.dtype(), batch.log_pf.device())}, 1);
  const Tensor at_exit = eq(arange(S + 1, DType::i64, batch.lengths.device()).unsqueeze(0), batch.lengths.unsqueeze(1));
  return where(at_exit, batch.log_done, padded);
}

Tensor terminal_log_reward(const EpisodeBatch& batch) {
  return gather(batch.log_reward, 1, batch.lengths.unsqueeze(1)).squeeze(1);
}

Tensor done_log_flows(const EpisodeBatch& batch) { return batch.log_reward - batch.log_done; }

Tensor var_tb_loss(const EpisodeBatch& batch, const Tensor& group) {
  constexpr const char* op = "var_tb_loss";
  check_episode_batch(op, batch);
  const Tensor log_pf = log_pf_with_exit(batch);
  const Tensor lengths = batch.lengths + 1;
  const Tensor log_reward = terminal_log_reward(batch);
  if (!group.defined()) return variance_trajectory_balance(log_pf, zero_log_pb(log_pf), lengths, log_reward);

  const int64_t B = log_pf.shape()[0];
  SUBTB_CHECK(group.shape() == (Shape{B}) && group.dtype() == DType::i64, op, ": group must be i64[", B, "], got ",
              describe(group));
  // The mean over episodes of the squared deviation from their group's mean is the
  // size-weighted mean of the groups' variances; groups are few, so one call per group.
  std::map<int64_t, std::vector<int64_t>> members;
  const std::vector<int64_t> ids = group.to(kCPU).contiguous().to_vector<int64_t>();
  for (int64_t b = 0; b < B; ++b) members[ids[static_cast<size_t>(b)]].push_back(b);
  Tensor total = zeros({}, log_pf.dtype(), log_pf.device());
  for (const auto& [id, rows] : members) {
    if (rows.size() < 2) continue;
    const Tensor index = from_vector<int64_t>(rows, Shape{static_cast<int64_t>(rows.size())}, log_pf.device());
    const Tensor pf = index_select(log_pf, 0, index);
    const Tensor variance = variance_trajectory_balance(pf, zero_log_pb(pf), index_select(lengths, 0, index),
                                                        index_select(log_reward, 0, index));
    total = total + variance * (static_cast<double>(rows.size()) / static_cast<double>(B));
  }
  return total;
}

Tensor tb_loss(const EpisodeBatch& batch, const Tensor& log_z) {
  check_episode_batch("tb_loss", batch);
  const Tensor log_pf = log_pf_with_exit(batch);
  return trajectory_balance(log_pf, zero_log_pb(log_pf), batch.lengths + 1, terminal_log_reward(batch), log_z);
}

Tensor subtb_loss(const EpisodeBatch& batch, const SubTBOptions& options) {
  check_episode_batch("subtb_loss", batch);
  return gflownet::subtb_loss(batch.log_pf, zero_log_pb(batch.log_pf), done_log_flows(batch), batch.lengths, options);
}

Tensor db_loss(const EpisodeBatch& batch, const ResidualLoss& loss) {
  check_episode_batch("db_loss", batch);
  return modified_detailed_balance(batch.log_pf, zero_log_pb(batch.log_pf), batch.log_done, batch.log_reward,
                                   batch.lengths, loss);
}

std::string_view to_string(Objective objective) {
  switch (objective) {
    case Objective::var_tb:
      return "var_tb";
    case Objective::tb:
      return "tb";
    case Objective::subtb:
      return "subtb";
    case Objective::db:
      return "db";
  }
  SUBTB_THROW("to_string: unknown GFlowVLM objective");
}

Objective parse_objective(std::string_view name) {
  if (name == "var_tb" || name == "vartb") return Objective::var_tb;
  if (name == "tb") return Objective::tb;
  if (name == "subtb") return Objective::subtb;
  if (name == "db") return Objective::db;
  SUBTB_THROW("GFlowVLM objective: unknown name '", name, "' (expected var_tb, tb, subtb or db)");
}

}  // namespace subtb::gflownet::vlm
