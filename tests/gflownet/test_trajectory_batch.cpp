#include "gflownet/trajectory_batch.h"

#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

using testing::all_close;

TrajectoryBatch small_batch() {
  TrajectoryBatch t;
  t.lengths = from_vector<int64_t>({2, 0, 3});
  t.log_pf = zeros({3, 3}, DType::f64);
  t.log_pb = zeros({3, 3}, DType::f64);
  t.log_flow = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Shape{3, 4});
  t.log_reward = from_vector<double>({-1, -2, -3});
  t.actions = full({3, 3}, -1, DType::i64);
  return t;
}

TEST(TrajectoryBatch, TerminalRewardReplacesTheLastFlowOfCompleteTrajectories) {
  TrajectoryBatch t = small_batch();
  t.log_flow.requires_grad_();
  Tensor f = t.log_flow_with_terminal_reward();
  EXPECT_TRUE(all_close(f, {1, 2, -1, 4, -2, 6, 7, 8, 9, 10, 11, -3}, 0));
  t.complete = from_vector<bool>({true, true, false});
  EXPECT_TRUE(all_close(t.log_flow_with_terminal_reward(), {1, 2, -1, 4, -2, 6, 7, 8, 9, 10, 11, 12}, 0));
  sum(f).backward();
  EXPECT_TRUE(all_close(t.log_flow.grad(), {1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0}, 0));
}

TEST(TrajectoryBatch, ValidateNamesTheBadField) {
  TrajectoryBatch t = small_batch();
  t.validate();
  EXPECT_EQ(t.max_length(), 3);
  TrajectoryBatch a = small_batch();
  a.log_flow = zeros({3, 3}, DType::f64);
  EXPECT_THROW_MSG(a.validate(), "TrajectoryBatch", "log_flow", "[3, 4]", "[3, 3]");
  TrajectoryBatch b = small_batch();
  b.actions = zeros({3, 3});
  EXPECT_THROW_MSG(b.validate(), "actions", "i64", "f32");
  TrajectoryBatch c = small_batch();
  c.lengths = from_vector<int64_t>({2, 0, 4});
  EXPECT_THROW_MSG(c.validate(), "lengths must lie in [0, 3]");
  TrajectoryBatch d;
  d.lengths = from_vector<int64_t>({1});
  EXPECT_THROW_MSG(d.validate(), "padded length L is unknown");
}

}  // namespace
}  // namespace subtb::gflownet
