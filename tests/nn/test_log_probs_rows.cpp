// continuation_log_probs from hidden states and a head, which sends only the rows that
// predict a masked token through the head: the same values and gradients as the head
// over every position followed by continuation_log_probs on the full logits.
#include "nn/log_probs.h"
#include "tensor/ops.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::values;

constexpr int64_t B = 2, T = 5, D = 4, V = 7;

struct Inputs {
  Tensor hidden;  // [B, T, D] f64, a leaf
  Tensor weight;  // [V, D] f64, a leaf: the head is hidden @ weight^T
  Tensor tokens;  // [B, T] i64
};

Inputs make_inputs() {
  Generator gen(11);
  return {randn({B, T, D}, DType::f64, kCPU, &gen).requires_grad_(),
          randn({V, D}, DType::f64, kCPU, &gen).requires_grad_(),
          from_vector<int64_t>({1, 6, 3, 0, 5, 2, 2, 4, 6, 1}, Shape{B, T})};
}

Tensor head_of(const Tensor& weight, const Tensor& h) { return matmul(h, weight.transpose(0, 1)); }

TEST(LogProbsRows, EqualTheFullHeadInValuesAndGradients) {
  const Inputs in = make_inputs();
  const auto head = [&](const Tensor& h) { return head_of(in.weight, h); };
  // Position 0 of row 0 is masked but predicts nothing: it stays 0 on both paths.
  const Tensor mask = from_vector<bool>({true, false, true, true, false, false, true, false, false, true}, Shape{B, T});
  // Distinct weights per position so that the gradients tell the positions apart.
  const Tensor seed = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, Shape{B, T});

  const Tensor fast = nn::continuation_log_probs(in.hidden, head, in.tokens, mask);
  sum(fast * seed).backward();
  const std::vector<double> fast_hidden = values(in.hidden.grad()), fast_weight = values(in.weight.grad());

  const Inputs ref = make_inputs();
  const Tensor full = nn::continuation_log_probs(head_of(ref.weight, ref.hidden), ref.tokens, mask);
  sum(full * seed).backward();

  ASSERT_EQ(fast.shape(), (Shape{B, T}));
  EXPECT_TRUE(all_close(fast, values(full), 1e-13));
  EXPECT_EQ(values(fast)[0], 0.0);
  EXPECT_EQ(values(fast)[1], 0.0);
  EXPECT_TRUE(all_close(ref.hidden.grad(), fast_hidden, 1e-13));
  EXPECT_TRUE(all_close(ref.weight.grad(), fast_weight, 1e-13));
}

TEST(LogProbsRows, GradcheckThroughTheSelectedRows) {
  const Inputs in = make_inputs();
  const Tensor mask = from_vector<bool>({false, false, true, true, true, false, true, false, false, true}, Shape{B, T});
  EXPECT_TRUE(testing::gradcheck_ok(
      [&](const std::vector<Tensor>& x) {
        return nn::continuation_log_probs(
            x[0], [&](const Tensor& h) { return head_of(x[1], h); }, in.tokens, mask);
      },
      {in.hidden.detach().requires_grad_(), in.weight.detach().requires_grad_()}));
}

TEST(LogProbsRows, AnEmptyMaskGivesZerosStillAttachedToTheGraph) {
  const Inputs in = make_inputs();
  const Tensor none = zeros(Shape{B, T}, DType::b8, kCPU);
  const Tensor lp = nn::continuation_log_probs(
      in.hidden, [&](const Tensor& h) { return head_of(in.weight, h); }, in.tokens, none);
  EXPECT_EQ(values(lp), std::vector<double>(B * T, 0.0));
  sum(lp).backward();
  EXPECT_EQ(values(in.hidden.grad()), std::vector<double>(B * T * D, 0.0));
}

TEST(LogProbsRows, RejectsMismatchedShapesAndABadHead) {
  const Inputs in = make_inputs();
  const Tensor mask = ones(Shape{B, T}, DType::b8, kCPU);
  const auto head = [&](const Tensor& h) { return head_of(in.weight, h); };
  EXPECT_THROW_MSG(nn::continuation_log_probs(in.hidden, head, in.tokens.narrow(1, 0, 3), mask),
                   "continuation_log_probs", "hidden");
  EXPECT_THROW_MSG(nn::continuation_log_probs(
                       in.hidden, [](const Tensor& h) { return h.reshape({-1}); }, in.tokens, mask),
                   "continuation_log_probs: head gave");
}

}  // namespace
}  // namespace subtb
