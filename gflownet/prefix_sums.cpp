#include "gflownet/prefix_sums.h"

#include "autograd/node.h"
#include "autograd/saved_tensor.h"
#include "kernels/backend.h"
#include "tensor/ops.h"
#include "tensor/ops/op_helpers.h"

namespace subtb::gflownet {

namespace {

const char* op_name(ScanOp op) { return op == ScanOp::cumsum ? "segmented_cumsum" : "segmented_logcumsumexp"; }

class SegmentedScanBackward final : public autograd::Node {
 public:
  SegmentedScanBackward(ScanOp op, const Tensor& x, const Tensor& out, const Tensor& lengths)
      : op_(op), x_(x), out_(out), lengths_(lengths) {}
  const char* name() const override { return op_name(op_); }
  std::vector<Tensor> apply(std::vector<Tensor>&& g) override {
    const Tensor x = x_.unpack(name()), out = out_.unpack(name());
    Tensor gx = empty_like(x);
    backend(x.device()).segmented_scan_backward(op_, x, out, g[0].contiguous(), lengths_, gx);
    return {gx};
  }
  void release() override {
    x_.reset();
    out_.reset();
  }

 private:
  ScanOp op_;
  autograd::SavedTensor x_, out_;
  Tensor lengths_;
};

Tensor segmented_scan(ScanOp op, const Tensor& x, const Tensor& lengths) {
  const char* name = op_name(op);
  detail::check_floating(name, x);
  SUBTB_CHECK(x.dim() == 2, name, ": x must be [B, L], got ", describe(x));
  const int64_t B = x.shape()[0], L = x.shape()[1];
  SUBTB_CHECK(lengths.shape() == (Shape{B}) && lengths.dtype() == DType::i64, name, ": lengths must be i64[", B,
              "], got ", describe(lengths));
  detail::check_same_device(name, x, lengths);
  const Tensor len = lengths.contiguous();
  for (int64_t n : len.to(kCPU).to_vector<int64_t>()) {
    SUBTB_CHECK(n >= 0 && n <= L, name, ": a length of ", n, " is outside [0, ", L, "]");
  }
  const Tensor xc = x.contiguous();
  Tensor out = make_tensor(x.shape(), x.dtype(), x.device());
  backend(x.device()).segmented_scan(op, xc.detach(), len, out);
  if (autograd::needs_grad({&x})) {
    // The cumsum backward reads neither x nor out; saving them costs two references.
    autograd::record(std::make_shared<SegmentedScanBackward>(op, xc, out, len), {&x}, {&out});
  }
  return out;
}

}  // namespace

Tensor segmented_cumsum(const Tensor& x, const Tensor& lengths) { return segmented_scan(ScanOp::cumsum, x, lengths); }

Tensor segmented_logcumsumexp(const Tensor& x, const Tensor& lengths) {
  return segmented_scan(ScanOp::logcumsumexp, x, lengths);
}

}  // namespace subtb::gflownet
