#include <cmath>

#include "nn/activation.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/mlp.h"
#include "nn/norm.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::DeviceDType;
using testing::values;

// y[r, o] = sum_i x[r, i] w[o, i] + b[o], in f64 from the tensors' values.
std::vector<double> linear_ref(const std::vector<double>& x, const std::vector<double>& w,
                               const std::vector<double>& b, int64_t rows, int64_t in, int64_t out) {
  std::vector<double> y(rows * out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (int64_t i = 0; i < in; ++i) acc += x[r * in + i] * w[o * in + i];
      y[r * out + o] = acc;
    }
  return y;
}

class LinearTest : public ::testing::TestWithParam<DeviceDType> {};

TEST_P(LinearTest, ForwardMatchesReferenceForEveryInputRank) {
  const auto [device, dtype] = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(device);
  Generator gen(11);
  nn::Linear lin(5, 3, true, nn::ParamInit{.dtype = dtype, .device = device, .gen = &gen});
  const std::vector<double> w = values(lin.weight), b = values(lin.bias);
  for (const Shape& shape : {Shape{5}, Shape{4, 5}, Shape{2, 3, 5}, Shape{0, 5}}) {
    const Tensor x = randn(shape, dtype, device, &gen);
    const Tensor y = lin.forward(x);
    Shape expected_shape = shape;
    expected_shape[shape.size() - 1] = 3;
    EXPECT_EQ(y.shape(), expected_shape);
    EXPECT_TRUE(all_close(y, linear_ref(values(x), w, b, shape.numel() / 5, 5, 3), testing::tolerance(dtype)));
  }
  // A transposed (non-contiguous) input.
  const Tensor xt = randn(Shape{5, 4}, dtype, device, &gen).t();
  EXPECT_TRUE(all_close(lin.forward(xt), linear_ref(values(xt), w, b, 4, 5, 3), testing::tolerance(dtype)));
  EXPECT_THROW_MSG(lin.forward(zeros(Shape{2, 4}, dtype, device)), "Linear", "[2, 4]", "in_features = 5");
}

TEST_P(LinearTest, WithoutBias) {
  const auto [device, dtype] = GetParam();
  SUBTB_SKIP_WITHOUT_DEVICE(device);
  nn::Linear lin(4, 2, false, nn::ParamInit{.dtype = dtype, .device = device});
  EXPECT_FALSE(lin.bias.defined());
  EXPECT_EQ(lin.parameters().size(), 1u);
  const Tensor x = randn(Shape{3, 4}, dtype, device);
  EXPECT_TRUE(all_close(lin.forward(x), linear_ref(values(x), values(lin.weight), {}, 3, 4, 2),
                        testing::tolerance(dtype)));
}

INSTANTIATE_TEST_SUITE_P(Nn, LinearTest, ::testing::ValuesIn(testing::float_params()), testing::param_name);

TEST(Linear, DefaultInitIsPyTorchsAndSeedable) {
  Generator gen(7);
  nn::Linear lin(100, 50, true, nn::ParamInit{.gen = &gen});
  // Both tensors are U(-1/sqrt(100), 1/sqrt(100)) = U(-0.1, 0.1), weight drawn first.
  Generator replay(7);
  EXPECT_EQ(values(lin.weight), values(rand(Shape{50, 100}, DType::f32, kCPU, &replay, -0.1, 0.1)));
  EXPECT_EQ(values(lin.bias), values(rand(Shape{50}, DType::f32, kCPU, &replay, -0.1, 0.1)));
  const std::vector<double> w = values(lin.weight);
  double lo = 1, hi = -1, mean = 0;
  for (double v : w) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    mean += v / static_cast<double>(w.size());
  }
  EXPECT_GE(lo, -0.1);
  EXPECT_LT(hi, 0.1);
  EXPECT_LT(lo, -0.099);  // 5000 draws reach near both ends
  EXPECT_GT(hi, 0.099);
  EXPECT_NEAR(mean, 0.0, 0.005);

  Generator same(7), other(8);
  EXPECT_EQ(values(nn::Linear(100, 50, true, {.gen = &same}).weight), w);
  EXPECT_NE(values(nn::Linear(100, 50, true, {.gen = &other}).weight), w);
}

TEST(Linear, GradientsMatchFiniteDifferencesAndClosedForm) {
  Generator gen(3);
  nn::Linear lin(4, 3, true, nn::ParamInit{.dtype = DType::f64, .gen = &gen});
  const Tensor x = randn(Shape{2, 5, 4}, DType::f64, kCPU, &gen);
  EXPECT_TRUE(testing::gradcheck_ok([&](const std::vector<Tensor>& in) { return lin.forward(in[0]); }, {x}));

  // dL/dW = G^T X and dL/db = sum of G over rows, for L = sum(G * y).
  const Tensor g = randn(Shape{2, 5, 3}, DType::f64, kCPU, &gen);
  sum(lin.forward(x) * g).backward();
  const std::vector<double> xv = values(x), gv = values(g);
  std::vector<double> dw(12, 0.0), db(3, 0.0);
  for (int r = 0; r < 10; ++r)
    for (int o = 0; o < 3; ++o) {
      db[o] += gv[r * 3 + o];
      for (int i = 0; i < 4; ++i) dw[o * 4 + i] += gv[r * 3 + o] * xv[r * 4 + i];
    }
  EXPECT_TRUE(all_close(lin.weight.grad(), dw, 1e-12));
  EXPECT_TRUE(all_close(lin.bias.grad(), db, 1e-12));
}

class MLPActivation : public ::testing::TestWithParam<nn::Activation> {};

TEST_P(MLPActivation, ForwardIsTheCompositionAndGradchecks) {
  const nn::Activation act = GetParam();
  Generator gen(5);
  for (bool layer_norm : {false, true}) {
    nn::MLP mlp(nn::MLPOptions{.sizes = {3, 6, 5, 2}, .activation = act, .layer_norm = layer_norm},
                nn::ParamInit{.dtype = DType::f64, .gen = &gen});
    const Tensor x = randn(Shape{4, 3}, DType::f64, kCPU, &gen);
    // The reference, from the parameters by name: Linear, [LayerNorm], activation per hidden layer.
    const nn::StateDict p = mlp.state_dict();
    Tensor h = x;
    int64_t index = 0;
    for (int layer = 0; layer < 2; ++layer) {
      const std::string lin = "trunk." + std::to_string(index) + ".";
      h = matmul(h, p.at(lin + "weight").t()) + p.at(lin + "bias");
      if (layer_norm) {
        const std::string ln = "trunk." + std::to_string(index + 1) + ".";
        h = subtb::layer_norm(h, p.at(ln + "weight"), p.at(ln + "bias"), 1e-5);
      }
      h = nn::activate(h, act);
      index += layer_norm ? 3 : 2;
    }
    const Tensor expected = matmul(h, p.at("head.weight").t()) + p.at("head.bias");
    EXPECT_TRUE(all_close(mlp.forward(x), values(expected), 1e-14));
    EXPECT_TRUE(testing::gradcheck_ok([&](const std::vector<Tensor>& in) { return mlp.forward(in[0]); }, {x}));
  }
}

INSTANTIATE_TEST_SUITE_P(Nn, MLPActivation,
                         ::testing::Values(nn::Activation::none, nn::Activation::relu, nn::Activation::leaky_relu,
                                           nn::Activation::tanh, nn::Activation::gelu, nn::Activation::silu),
                         [](const auto& info) { return std::string(nn::activation_name(info.param)); });

TEST(MLP, ShapesAndErrors) {
  nn::MLP single(nn::MLPOptions{.sizes = {4, 2}});
  EXPECT_TRUE(single.trunk->empty());
  EXPECT_EQ(single.forward(zeros(Shape{3, 4})).shape(), (Shape{3, 2}));
  EXPECT_THROW_MSG(nn::MLP(nn::MLPOptions{.sizes = {4}}), "MLP", "at least");
}

TEST(Activation, ParsesEveryNameAndRejectsOthers) {
  for (nn::Activation a : {nn::Activation::none, nn::Activation::relu, nn::Activation::leaky_relu,
                           nn::Activation::tanh, nn::Activation::gelu, nn::Activation::silu})
    EXPECT_EQ(nn::parse_activation(nn::activation_name(a)), a);
  EXPECT_THROW_MSG(nn::parse_activation("swish"), "unknown activation 'swish'", "relu, leaky_relu");
  const Tensor x = from_vector<double>({-2, 0.5});
  EXPECT_TRUE(all_close(nn::activate(x, nn::Activation::leaky_relu), {-0.02, 0.5}, 1e-15));
}

TEST(Embedding, LooksUpRowsDrawnFromAStandardNormal) {
  Generator gen(9), replay(9);
  nn::Embedding emb(6, 3, nn::ParamInit{.gen = &gen});
  EXPECT_EQ(values(emb.weight), values(randn(Shape{6, 3}, DType::f32, kCPU, &replay)));
  const Tensor idx = from_vector<int64_t>({5, 0, 5, 2}, Shape{2, 2});
  const Tensor y = emb.forward(idx);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  const std::vector<double> w = values(emb.weight), yv = values(y);
  const int64_t rows[] = {5, 0, 5, 2};
  for (int i = 0; i < 4; ++i)
    for (int d = 0; d < 3; ++d) EXPECT_EQ(yv[i * 3 + d], w[rows[i] * 3 + d]);
}

TEST(Norms, ModulesWrapTheOpsWithPyTorchsInit) {
  Generator gen(2);
  const Tensor x = randn(Shape{3, 4}, DType::f64, kCPU, &gen);
  nn::LayerNorm ln(4, 1e-5, true, nn::ParamInit{.dtype = DType::f64});
  EXPECT_EQ(values(ln.weight), std::vector<double>(4, 1.0));
  EXPECT_EQ(values(ln.bias), std::vector<double>(4, 0.0));
  EXPECT_EQ(values(ln.forward(x)), values(layer_norm(x, Tensor(), Tensor(), 1e-5)));
  nn::LayerNorm plain(4, 1e-5, false);
  EXPECT_TRUE(plain.parameters().empty());

  nn::RMSNorm rms(4, 1e-6, nn::ParamInit{.dtype = DType::f64});
  EXPECT_EQ(values(rms.weight), std::vector<double>(4, 1.0));
  EXPECT_EQ(values(rms.forward(x)), values(rms_norm(x, Tensor(), 1e-6)));
  EXPECT_THROW_MSG(nn::LayerNorm(0), "LayerNorm", "positive");
}

TEST(Dropout, DrawsFromItsGeneratorWhileTraining) {
  Generator gen(4), replay(4);
  nn::Dropout drop(0.25, &gen);
  const Tensor x = randn(Shape{64});
  EXPECT_EQ(values(drop.forward(x)), values(dropout(x, 0.25, true, &replay)));
  drop.eval();
  EXPECT_TRUE(drop.forward(x).is_same(x));
  EXPECT_THROW_MSG(nn::Dropout(1.5), "Dropout", "[0, 1]", "1.5");
}

}  // namespace
}  // namespace subtb
