// End to end: train, checkpoint, resume; the resumed run must match the uninterrupted
// one bit for bit.
#include "nn/checkpoint.h"

#include "nn/activation.h"
#include "nn/clip_grad.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/lr_schedule.h"
#include "nn/norm.h"
#include "nn/optim_adam.h"
#include "nn/safetensors.h"
#include "nn/sequential.h"
#include "tests/nn/temp_dir.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using Checkpoint = testing::TempDirTest;

// A regression net with dropout (so the RNG state matters) and a scalar offset that,
// like a GFlowNet's log Z, trains in its own parameter group with a larger lr.
class Net : public nn::Module {
 public:
  Net(uint64_t seed, Generator* dropout_gen, int64_t hidden = 16) {
    Generator init(seed);
    const nn::ParamInit p{.gen = &init};
    body = register_module("body", std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Layer>>{
                                       std::make_shared<nn::Linear>(4, hidden, true, p),
                                       std::make_shared<nn::LayerNorm>(hidden, 1e-5, true, p),
                                       std::make_shared<nn::ActivationLayer>(nn::Activation::gelu),
                                       std::make_shared<nn::Dropout>(0.1, dropout_gen),
                                       std::make_shared<nn::Linear>(hidden, 1, true, p)}));
    log_z = register_parameter("log_z", zeros(Shape{}));
  }
  Tensor forward(const Tensor& x) { return body->forward(x) + log_z; }

  std::shared_ptr<nn::Sequential> body;
  Tensor log_z;
};

struct TrainingRun {
  Generator data_gen, dropout_gen;
  Net net;
  nn::AdamW opt;
  nn::LrSchedule schedule = nn::warmup_cosine(3, 12, 0.1);

  explicit TrainingRun(uint64_t seed)
      : data_gen(seed + 1),
        dropout_gen(seed + 2),
        net(seed, &dropout_gen),
        opt({{body_params(net)}, {{net.log_z}, 0.1, 0.0}}, nn::AdamOptions{.lr = 3e-3, .weight_decay = 0.01}) {}

  static std::vector<Tensor> body_params(const Net& n) { return n.body->parameters(); }

  nn::TrainingState state() { return {net, &opt, {{"data", &data_gen}, {"dropout", &dropout_gen}}}; }

  // One step at `step`; returns the loss.
  double train_step(int64_t step) {
    opt.scale_lr(schedule(step));
    const Tensor x = randn(Shape{8, 4}, DType::f32, kCPU, &data_gen);
    const Tensor target = sin(sum(x, {1}, true)) * 2.0 + 1.0;
    const Tensor loss = mean(square(net.forward(x) - target));
    opt.zero_grad();
    loss.backward();
    nn::clip_grad_norm(net.parameters(), 1.0);
    opt.step();
    return loss.item();
  }
};

std::vector<std::vector<double>> snapshot(const nn::StateDict& sd) {
  std::vector<std::vector<double>> out;
  for (const auto& [name, t] : sd) out.push_back(testing::values(t));
  return out;
}

TEST_F(Checkpoint, ResumedRunMatchesTheUninterruptedOneBitForBit) {
  const std::string ckpt = path("run.safetensors");
  const std::string config = R"({"lr":0.003,"hidden":16})";
  constexpr int64_t kSaveAt = 5, kEnd = 12;

  TrainingRun a(1);
  std::vector<double> losses_a;
  for (int64_t s = 0; s < kSaveAt; ++s) losses_a.push_back(a.train_step(s));
  nn::save_checkpoint(ckpt, a.state(), kSaveAt, config);
  std::vector<double> tail_a;
  for (int64_t s = kSaveAt; s < kEnd; ++s) tail_a.push_back(a.train_step(s));
  EXPECT_LT(tail_a.back(), losses_a.front());  // it does learn

  TrainingRun b(99);  // different weights and RNG streams until the checkpoint overwrites them
  EXPECT_NE(snapshot(b.net.state_dict()), snapshot(a.net.state_dict()));
  const nn::CheckpointInfo info = nn::load_checkpoint(ckpt, b.state());
  EXPECT_EQ(info.step, kSaveAt);
  EXPECT_EQ(info.config, config);
  EXPECT_EQ(b.opt.state(0).step, kSaveAt);
  std::vector<double> tail_b;
  for (int64_t s = info.step; s < kEnd; ++s) tail_b.push_back(b.train_step(s));

  EXPECT_EQ(tail_a, tail_b);
  EXPECT_EQ(snapshot(a.net.state_dict()), snapshot(b.net.state_dict()));
  EXPECT_EQ(snapshot(a.opt.state_dict()), snapshot(b.opt.state_dict()));
  EXPECT_EQ(a.data_gen.offset(), b.data_gen.offset());
  EXPECT_EQ(a.dropout_gen.offset(), b.dropout_gen.offset());
}

TEST_F(Checkpoint, IsAPlainSafetensorsFile) {
  TrainingRun a(1);
  a.train_step(0);
  nn::save_checkpoint(path("c.safetensors"), a.state(), 1);
  const nn::SafetensorsFile f = nn::load_safetensors(path("c.safetensors"));
  EXPECT_EQ(f.metadata.at("format"), "subtb.checkpoint");
  EXPECT_EQ(f.metadata.at("format_version"), "1");
  EXPECT_EQ(f.metadata.at("step"), "1");
  EXPECT_EQ(f.metadata.at("config"), "{}");
  EXPECT_EQ(f.metadata.at("rng.data"), "2 " + std::to_string(a.data_gen.offset()));
  EXPECT_TRUE(f.tensors.contains("model.body.0.weight"));
  EXPECT_TRUE(f.tensors.contains("model.log_z"));
  EXPECT_EQ(f.tensors.at("optimizer.groups.1.lr").item(), a.opt.groups()[1].lr);
  EXPECT_EQ(f.tensors.at("optimizer.state.0.step").dtype(), DType::i64);
  EXPECT_TRUE(f.tensors.contains("optimizer.state.6.exp_avg_sq"));  // log_z, the 7th parameter
}

TEST_F(Checkpoint, RejectsMismatchesWithoutChangingTheState) {
  const std::string ckpt = path("c.safetensors");
  TrainingRun a(1);
  a.train_step(0);
  nn::save_checkpoint(ckpt, a.state(), 1);

  // A wider model: every mismatched tensor is named, and nothing is loaded.
  Generator g;
  Net wide(3, &g, 32);
  const auto before = snapshot(wide.state_dict());
  EXPECT_THROW_MSG(nn::load_checkpoint(ckpt, nn::TrainingState{wide}), "load_checkpoint", "c.safetensors",
                   "body.0.weight (state dict f32[16, 4], module f32[32, 4])");
  EXPECT_EQ(snapshot(wide.state_dict()), before);

  // A generator the checkpoint does not hold; the model must stay as it was.
  TrainingRun b(7);
  const auto b_before = snapshot(b.net.state_dict());
  Generator other;
  nn::TrainingState state = b.state();
  state.generators["other"] = &other;
  EXPECT_THROW_MSG(nn::load_checkpoint(ckpt, state), "the metadata lacks 'rng.other'");
  EXPECT_EQ(snapshot(b.net.state_dict()), b_before);

  // An optimizer with a different grouping.
  nn::Adam one_group(b.net.parameters());
  EXPECT_THROW_MSG(nn::load_checkpoint(ckpt, nn::TrainingState{b.net, &one_group}), "Adam.load_state_dict",
                   "unexpected keys: groups.1.lr");

  // Without an optimizer, the optimizer's entries are ignored.
  EXPECT_EQ(nn::load_checkpoint(ckpt, nn::TrainingState{b.net}).step, 1);
  EXPECT_EQ(snapshot(b.net.state_dict()), snapshot(a.net.state_dict()));
}

TEST_F(Checkpoint, FurtherModulesRoundTripApartFromTheModel) {
  const std::string ckpt = path("m.safetensors");
  TrainingRun a(1);
  Generator g(3);
  nn::Linear head(4, 1, true, {.gen = &g});
  nn::TrainingState state = a.state();
  state.modules["head"] = &head;
  nn::save_checkpoint(ckpt, state, 1);
  EXPECT_TRUE(nn::load_safetensors(ckpt).tensors.contains("module.head.weight"));

  TrainingRun b(7);
  Generator other(4);
  nn::Linear fresh(4, 1, true, {.gen = &other});
  nn::TrainingState restored = b.state();
  restored.modules["head"] = &fresh;
  nn::load_checkpoint(ckpt, restored);
  EXPECT_EQ(snapshot(fresh.state_dict()), snapshot(head.state_dict()));
  EXPECT_EQ(snapshot(b.net.state_dict()), snapshot(a.net.state_dict()));

  // The model alone loads without them; a module the file lacks is refused, changing nothing.
  Net plain(9, nullptr);
  EXPECT_EQ(nn::load_checkpoint(ckpt, nn::TrainingState{plain}).step, 1);
  const std::string bare = path("bare.safetensors");
  nn::save_checkpoint(bare, a.state(), 1);
  Net untouched(9, nullptr);
  const auto before = snapshot(untouched.state_dict());
  EXPECT_THROW_MSG(nn::load_checkpoint(bare, nn::TrainingState{untouched, nullptr, {}, {{"head", &fresh}}}),
                   "bare.safetensors", "no tensors of module 'head'");
  EXPECT_EQ(snapshot(untouched.state_dict()), before);
  EXPECT_THROW_MSG(nn::save_checkpoint(bare, nn::TrainingState{plain, nullptr, {}, {{"a.b", &fresh}}}, 1),
                   "module name 'a.b'");
}

TEST_F(Checkpoint, RejectsFilesThatAreNotCheckpoints) {
  TrainingRun a(1);
  nn::save_safetensors(path("plain.safetensors"), {{"model.log_z", zeros(Shape{})}});
  EXPECT_THROW_MSG(nn::load_checkpoint(path("plain.safetensors"), a.state()), "the metadata lacks 'format'");
  nn::save_safetensors(path("odd.safetensors"), {{"x", zeros(Shape{})}},
                       {{"format", "subtb.checkpoint"}, {"format_version", "1"}, {"step", "3"}, {"config", "{}"},
                        {"rng.data", "1 2"}, {"rng.dropout", "1 x"}});
  EXPECT_THROW_MSG(nn::load_checkpoint(path("odd.safetensors"), a.state()), "invalid state '1 x'",
                   "generator 'dropout'");
  EXPECT_THROW_MSG(nn::load_checkpoint(path("none.safetensors"), a.state()), "cannot open the file");
  EXPECT_THROW_MSG(nn::save_checkpoint(path("bad.safetensors"), a.state(), 0, "{not json"), "config is not valid JSON");
  EXPECT_EQ(listing(), (std::vector<std::string>{"odd.safetensors", "plain.safetensors"}));
}

}  // namespace
}  // namespace subtb
