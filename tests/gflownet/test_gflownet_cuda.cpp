// The GFlowNet kernels on CUDA against the CPU: same losses and gradients for the fused
// SubTB loss (every weighting, FL rewards, -inf steps, padding rows) and the segmented
// scans. They skip where no GPU is present and run unchanged where one is.
#include <cmath>
#include <random>

#include "gflownet/prefix_sums.h"
#include "gflownet/subtb.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

using testing::all_close;

class GFlowNetCuda : public ::testing::TestWithParam<DType> {};

struct Inputs {
  Tensor pf, pb, flow, reward, lengths;
};

Inputs random_inputs(int64_t B, int64_t L, DType dtype, uint64_t seed) {
  Generator gen(seed);
  Inputs in;
  in.pf = (-abs(randn({B, L}, DType::f64, kCPU, &gen))).to(dtype);
  in.pb = (-abs(randn({B, L}, DType::f64, kCPU, &gen))).to(dtype);
  in.flow = randn({B, L + 1}, DType::f64, kCPU, &gen).to(dtype);
  in.reward = randn({B, L + 1}, DType::f64, kCPU, &gen).to(dtype);
  std::vector<int64_t> len(static_cast<size_t>(B));
  std::mt19937_64 rng(seed);
  for (int64_t b = 0; b < B; ++b) len[b] = b == 0 ? L : (b == 1 ? 0 : static_cast<int64_t>(rng() % (L + 1)));
  in.lengths = from_vector<int64_t>(len);
  return in;
}

TEST_P(GFlowNetCuda, SubTBMatchesTheCpu) {
  SUBTB_SKIP_WITHOUT_DEVICE(cuda_device(0));
  const DType dtype = GetParam();
  const double tol = dtype == DType::f64 ? 1e-10 : 1e-4;
  for (int64_t L : {1, 7, 64, 200}) {
    Inputs in = random_inputs(37, L, dtype, static_cast<uint64_t>(L));
    // A -inf step inside row 0: its loss is +inf on both devices, the other rows are unaffected.
    if (L > 3) {
      Tensor host = in.pf.to(DType::f64);
      host.data<double>()[2] = -INFINITY;
      in.pf = host.to(dtype);
    }
    for (SubTBWeighting w : {SubTBWeighting::geometric_within, SubTBWeighting::equal, SubTBWeighting::geometric,
                             SubTBWeighting::tb, SubTBWeighting::db}) {
      for (bool fl : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "L " << L << " " << to_string(w) << " fl " << fl);
        const Device gpu = cuda_device(0);
        Tensor cpf = in.pf.clone().requires_grad_(), cfl = in.flow.clone().requires_grad_();
        Tensor gpf = in.pf.to(gpu).requires_grad_(), gfl = in.flow.to(gpu).requires_grad_();
        Tensor cpu_rows = subtb_trajectory_losses(cpf, in.pb, cfl, in.lengths, {0.9, w}, fl ? in.reward : Tensor());
        Tensor gpu_rows = subtb_trajectory_losses(gpf, in.pb.to(gpu), gfl, in.lengths.to(gpu), {0.9, w},
                                                  fl ? in.reward.to(gpu) : Tensor());
        EXPECT_TRUE(all_close(gpu_rows, testing::values(cpu_rows), tol, tol));
        // Backward through the finite rows only (row 0 may hold +inf).
        const Tensor seed = from_vector<double>(std::vector<double>(37, 1.0)).to(dtype);
        std::vector<double> s = testing::values(seed);
        s[0] = 0.0;
        const Tensor mask = from_vector<double>(s).to(dtype);
        cpu_rows.backward(mask);
        gpu_rows.backward(mask.to(gpu));
        EXPECT_TRUE(all_close(gpf.grad(), testing::values(cpf.grad()), tol, tol));
        EXPECT_TRUE(all_close(gfl.grad(), testing::values(cfl.grad()), tol, tol));
      }
    }
  }
}

TEST_P(GFlowNetCuda, SegmentedScansMatchTheCpu) {
  SUBTB_SKIP_WITHOUT_DEVICE(cuda_device(0));
  const DType dtype = GetParam();
  const double tol = dtype == DType::f64 ? 1e-12 : 1e-5;
  const Inputs in = random_inputs(300, 50, dtype, 3);
  for (bool log : {false, true}) {
    Tensor x = in.flow.narrow(1, 0, 50).contiguous().requires_grad_();
    Tensor xg = x.detach().to(cuda_device(0)).requires_grad_();
    Tensor y = log ? segmented_logcumsumexp(x, in.lengths) : segmented_cumsum(x, in.lengths);
    Tensor yg = log ? segmented_logcumsumexp(xg, in.lengths.to(cuda_device(0)))
                    : segmented_cumsum(xg, in.lengths.to(cuda_device(0)));
    EXPECT_TRUE(all_close(yg, testing::values(y), tol, tol));
    const Tensor g = ones_like(y);
    y.backward(g);
    yg.backward(g.to(cuda_device(0)));
    EXPECT_TRUE(all_close(xg.grad(), testing::values(x.grad()), tol, tol));
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GFlowNetCuda, ::testing::Values(DType::f32, DType::f64),
                         [](const ::testing::TestParamInfo<DType>& i) { return std::string(dtype_name(i.param)); });

}  // namespace
}  // namespace subtb::gflownet
