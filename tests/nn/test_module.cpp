#include "nn/module.h"

#include "autograd/grad_mode.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/mlp.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using nn::MLP;
using nn::MLPOptions;

std::vector<std::string> names_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

// A module with a parameter, a buffer, a sub-module and a weight tied to that sub-module.
class Policy : public nn::Module {
 public:
  explicit Policy(Generator* gen) {
    net = register_module("net", std::make_shared<MLP>(MLPOptions{.sizes = {3, 4, 2}}, nn::ParamInit{.gen = gen}));
    log_z = register_parameter("log_z", zeros(Shape{}));
    counts = register_buffer("counts", zeros(Shape{2}, DType::i64));
  }
  std::shared_ptr<MLP> net;
  Tensor log_z, counts;
};

class Tied : public nn::Module {
 public:
  Tied() {
    a = register_module("a", std::make_shared<nn::Linear>(2, 2));
    b = register_module("b", std::make_shared<nn::Linear>(2, 2));
    shared = register_parameter("shared", a->weight);
  }
  std::shared_ptr<nn::Linear> a, b;
  Tensor shared;
};

TEST(Module, DottedNamesInRegistrationOrder) {
  Generator gen(1);
  Policy p(&gen);
  EXPECT_EQ(names_of(p.named_parameters()),
            (std::vector<std::string>{"log_z", "net.trunk.0.weight", "net.trunk.0.bias", "net.head.weight",
                                      "net.head.bias"}));
  EXPECT_EQ(names_of(p.named_buffers()), std::vector<std::string>{"counts"});
  EXPECT_EQ(p.parameters().size(), 5u);
  EXPECT_TRUE(p.parameters()[1].is_same(p.net->trunk->children()[0].second->parameters()[0]));
  for (const Tensor& t : p.parameters()) EXPECT_TRUE(t.requires_grad());
  EXPECT_FALSE(p.counts.requires_grad());

  const nn::StateDict sd = p.state_dict();
  std::vector<std::string> keys;
  for (const auto& [k, v] : sd) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"counts", "log_z", "net.head.bias", "net.head.weight", "net.trunk.0.bias",
                                            "net.trunk.0.weight"}));
}

TEST(Module, MLPWithLayerNormNamesEveryLayerByPosition) {
  MLP mlp(MLPOptions{.sizes = {3, 5, 4, 2}, .activation = nn::Activation::tanh, .layer_norm = true});
  EXPECT_EQ(names_of(mlp.named_parameters()),
            (std::vector<std::string>{"trunk.0.weight", "trunk.0.bias", "trunk.1.weight", "trunk.1.bias",
                                      "trunk.3.weight", "trunk.3.bias", "trunk.4.weight", "trunk.4.bias",
                                      "head.weight", "head.bias"}));
  EXPECT_EQ(mlp.trunk->size(), 6u);
}

TEST(Module, TiedParameterListedOnceButSavedUnderEveryName) {
  Tied t;
  // A module's own parameters come before its children's, so the tied weight keeps the
  // name "shared".
  EXPECT_EQ(names_of(t.named_parameters()), (std::vector<std::string>{"shared", "a.bias", "b.weight", "b.bias"}));
  EXPECT_EQ(t.state_dict().count("shared"), 1u);
  EXPECT_TRUE(t.state_dict().at("shared").storage() == t.a->weight.storage());
}

class BadNames : public nn::Module {
 public:
  void add(const std::string& name) { register_parameter(name, zeros(Shape{1})); }
  void add_output_of_op() { register_parameter("y", mul(zeros(Shape{1}).requires_grad_(), 2.0)); }
  void add_int() { register_parameter("i", zeros(Shape{1}, DType::i64)); }
};

TEST(Module, RegistrationErrors) {
  BadNames m;
  m.add("w");
  EXPECT_THROW_MSG(m.add("w"), "'w' is already registered");
  EXPECT_THROW_MSG(m.add("a.b"), "invalid name 'a.b'");
  EXPECT_THROW_MSG(m.add(""), "invalid name ''");
  EXPECT_THROW_MSG(m.add_output_of_op(), "parameter 'y'", "output of an op");
  EXPECT_THROW_MSG(m.add_int(), "only floating tensors can require grad");
}

TEST(Module, StateDictRoundTrip) {
  Generator g1(1), g2(2);
  Policy a(&g1), b(&g2);
  {
    NoGradGuard no_grad;
    a.log_z.fill_(1.5);
    a.counts.fill_(7);
  }
  const Tensor x = randn(Shape{5, 3}, DType::f32, kCPU, &g1);
  EXPECT_FALSE(testing::values(a.net->forward(x)) == testing::values(b.net->forward(x)));

  const Tensor b_weight = b.net->head->weight;  // a handle: loading must write through it
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(testing::values(a.net->forward(x)), testing::values(b.net->forward(x)));
  EXPECT_EQ(testing::values(b_weight), testing::values(a.net->head->weight));
  EXPECT_EQ(b.log_z.item(), 1.5);
  EXPECT_EQ(testing::values(b.counts), (std::vector<double>{7, 7}));
  // Copies, not aliases.
  EXPECT_FALSE(b.net->head->weight.storage() == a.net->head->weight.storage());
  EXPECT_TRUE(b.net->head->weight.requires_grad());
}

TEST(Module, LoadStateDictNamesEveryProblemAndChangesNothing) {
  Generator g1(1), g2(2);
  Policy a(&g1), b(&g2);
  const std::vector<double> before = testing::values(b.net->head->weight);

  nn::StateDict sd = a.state_dict();
  sd.erase("net.head.bias");
  sd["extra.weight"] = zeros(Shape{1});
  sd["net.trunk.0.weight"] = zeros(Shape{3, 4});
  sd["log_z"] = zeros(Shape{}, DType::f64);
  EXPECT_THROW_MSG(b.load_state_dict(sd), "missing keys: net.head.bias", "unexpected keys: extra.weight",
                   "net.trunk.0.weight (state dict f32[3, 4], module f32[4, 3])",
                   "log_z (state dict f64[], module f32[])");
  EXPECT_EQ(testing::values(b.net->head->weight), before);
}

TEST(Module, TrainEvalRecursesAndDropoutFollows) {
  auto seq = std::make_shared<nn::Sequential>();
  Generator gen(3);
  auto drop = std::make_shared<nn::Dropout>(0.5, &gen);
  seq->push_back(std::make_shared<nn::Linear>(4, 4));
  seq->push_back(drop);
  EXPECT_TRUE(drop->is_training());
  seq->eval();
  EXPECT_FALSE(drop->is_training());
  const Tensor x = ones(Shape{3, 4});
  EXPECT_TRUE(drop->forward(x).is_same(x));
  seq->train();
  EXPECT_TRUE(drop->is_training());
  const std::vector<double> y = testing::values(drop->forward(x));
  EXPECT_TRUE(std::count(y.begin(), y.end(), 0.0) > 0 && std::count(y.begin(), y.end(), 2.0) > 0);
}

TEST(Module, ZeroGradResetsEveryParameter) {
  MLP mlp(MLPOptions{.sizes = {2, 3, 1}});
  sum(mlp.forward(ones(Shape{4, 2}))).backward();
  for (const Tensor& p : mlp.parameters()) EXPECT_TRUE(p.grad().defined());
  mlp.zero_grad();
  for (const Tensor& p : mlp.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(Module, ToDTypeConvertsInPlaceKeepingHandles) {
  Generator gen(4);
  nn::Linear lin(3, 2, true, nn::ParamInit{.gen = &gen});
  const std::vector<double> w = testing::values(lin.weight);
  const Tensor handle = lin.parameters()[0];
  sum(lin.forward(ones(Shape{1, 3}))).backward();
  lin.to(DType::f64);
  EXPECT_EQ(handle.dtype(), DType::f64);
  EXPECT_EQ(lin.weight.dtype(), DType::f64);
  EXPECT_EQ(lin.weight.grad().dtype(), DType::f64);
  EXPECT_EQ(testing::values(lin.weight), w);  // f32 -> f64 is exact
  EXPECT_TRUE(lin.weight.requires_grad() && lin.weight.is_leaf());
  // The converted parameters train: a new graph reaches them.
  lin.zero_grad();
  sum(lin.forward(ones(Shape{1, 3}, DType::f64))).backward();
  EXPECT_TRUE(testing::all_close(lin.bias.grad(), {1, 1}, 0));
  EXPECT_THROW_MSG(lin.to(DType::i32), "expected a floating dtype");
}

TEST(Module, ToDeviceMovesParametersAndBuffers) {
  SUBTB_SKIP_WITHOUT_DEVICE(cuda_device(0));
  Generator gen(5);
  Policy p(&gen);
  const std::vector<double> w = testing::values(p.net->head->weight);
  p.to(cuda_device(0));
  for (const auto& [name, t] : p.state_dict()) EXPECT_EQ(t.device(), cuda_device(0)) << name;
  EXPECT_EQ(testing::values(p.net->head->weight), w);
  p.to(kCPU);
  EXPECT_TRUE(p.net->head->weight.device().is_cpu());
}

}  // namespace
}  // namespace subtb
