// Optimizers against f64 references written out per element, step by step.
#include <cmath>

#include "nn/optim_adam.h"
#include "nn/optim_sgd.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::all_close;
using testing::values;
using Vec = std::vector<double>;

Tensor param(const Vec& v) { return from_vector<double>(v).requires_grad_(); }
void set_grad(const Tensor& p, const Vec& g) { Tensor(p).set_grad(from_vector<double>(g)); }

struct SGDRef {
  nn::SGDOptions o;
  Vec buf = {};
  int steps = 0;
  void step(Vec& p, const Vec& grad, double lr) {
    if (buf.empty()) buf.resize(p.size());
    ++steps;
    for (size_t i = 0; i < p.size(); ++i) {
      double d = grad[i] + o.weight_decay * p[i];
      if (o.momentum != 0) {
        buf[i] = steps == 1 ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
        d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
  }
};

struct AdamRef {
  nn::AdamOptions o;
  bool decoupled = false;
  Vec m = {}, v = {};
  int steps = 0;
  void step(Vec& p, const Vec& grad, double lr, double wd) {
    if (m.empty()) m.resize(p.size()), v.resize(p.size());
    ++steps;
    const double bc1 = 1 - std::pow(o.beta1, steps), bc2 = 1 - std::pow(o.beta2, steps);
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grad[i];
      if (decoupled) p[i] *= 1 - lr * wd;
      else g += wd * p[i];
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      p[i] -= lr / bc1 * m[i] / (std::sqrt(v[i]) / std::sqrt(bc2) + o.eps);
    }
  }
};

const std::vector<Vec> kGrads{{0.5, -1.0, 2.0}, {0.25, 3.0, -1.5}, {-0.75, 0.5, 0.125}, {1.0, -2.0, 0.0}};
const Vec kInit{1.0, -2.0, 0.5};

TEST(SGD, PlainStepIsLrTimesGradient) {
  Tensor p = param(kInit);
  nn::SGD opt({p}, nn::SGDOptions{.lr = 0.1});
  set_grad(p, kGrads[0]);
  opt.step();
  EXPECT_TRUE(all_close(p, {1.0 - 0.05, -2.0 + 0.1, 0.5 - 0.2}, 1e-15));
  EXPECT_EQ(opt.state(0).step, 1);
  EXPECT_TRUE(opt.state(0).buffers.empty());
}

TEST(SGD, MomentumDampeningWeightDecayNesterov) {
  for (const nn::SGDOptions& o : {nn::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01},
                                  nn::SGDOptions{.lr = 0.05, .momentum = 0.8, .dampening = 0.3},
                                  nn::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true}}) {
    Tensor p = param(kInit);
    nn::SGD opt({p}, o);
    SGDRef ref{o};
    Vec expected = kInit;
    for (const Vec& g : kGrads) {
      set_grad(p, g);
      opt.step();
      ref.step(expected, g, o.lr);
      ASSERT_TRUE(all_close(p, expected, 0, 1e-14)) << "momentum " << o.momentum << " step " << ref.steps;
    }
    EXPECT_TRUE(all_close(opt.state(0).buffers.at("momentum_buffer"), ref.buf, 0, 1e-14));
  }
}

TEST(SGD, RejectsInvalidOptions) {
  Tensor p = param(kInit);
  EXPECT_THROW_MSG(nn::SGD({p}, nn::SGDOptions{.nesterov = true}), "SGD", "nesterov needs momentum > 0");
  EXPECT_THROW_MSG(nn::SGD({p}, nn::SGDOptions{.lr = -1}), "SGD", "invalid lr -1");
  EXPECT_THROW_MSG(nn::SGD({p, p}), "SGD", "appears more than once");
  EXPECT_THROW_MSG(nn::SGD({p * 2.0}), "SGD", "floating leaf");
}

TEST(Adam, FirstStepMovesEachWeightByAboutLr) {
  // Bias correction makes the first update lr * g / (|g| + eps) exactly.
  Tensor p = param(kInit);
  nn::Adam opt({p}, nn::AdamOptions{.lr = 0.1});
  set_grad(p, kGrads[0]);
  opt.step();
  const Vec expected{1.0 - 0.1 * 0.5 / (0.5 + 1e-8), -2.0 + 0.1 * 1.0 / (1.0 + 1e-8), 0.5 - 0.1 * 2.0 / (2.0 + 1e-8)};
  EXPECT_TRUE(all_close(p, expected, 0, 1e-15));
}

TEST(Adam, StepsMatchReferenceWithAndWithoutDecoupledDecay) {
  const nn::AdamOptions o{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.1};
  for (const bool decoupled : {false, true}) {
    Tensor p = param(kInit);
    std::unique_ptr<nn::Optimizer> opt = decoupled ? std::unique_ptr<nn::Optimizer>(new nn::AdamW({p}, o))
                                                   : std::unique_ptr<nn::Optimizer>(new nn::Adam({p}, o));
    EXPECT_EQ(opt->name(), decoupled ? "AdamW" : "Adam");
    AdamRef ref{o, decoupled};
    Vec expected = kInit;
    for (const Vec& g : kGrads) {
      set_grad(p, g);
      opt->step();
      ref.step(expected, g, o.lr, o.weight_decay);
      ASSERT_TRUE(all_close(p, expected, 0, 1e-14)) << "decoupled " << decoupled << " step " << ref.steps;
    }
    EXPECT_EQ(opt->state(0).step, 4);
    EXPECT_TRUE(all_close(opt->state(0).buffers.at("exp_avg"), ref.m, 0, 1e-14));
    EXPECT_TRUE(all_close(opt->state(0).buffers.at("exp_avg_sq"), ref.v, 0, 1e-14));
  }
}

TEST(Adam, ParameterGroupsHaveTheirOwnLrAndWeightDecay) {
  Tensor w = param(kInit), log_z = param({0.0});
  nn::AdamW opt({{{w}}, {{log_z}, 0.1, 0.0}}, nn::AdamOptions{.lr = 1e-3, .weight_decay = 0.01});
  ASSERT_EQ(opt.groups().size(), 2u);
  EXPECT_EQ(opt.groups()[0].lr, 1e-3);
  EXPECT_EQ(opt.groups()[0].weight_decay, 0.01);
  EXPECT_EQ(opt.groups()[1].lr, 0.1);
  EXPECT_EQ(opt.groups()[1].weight_decay, 0.0);
  AdamRef ref_w{opt.options(), true}, ref_z{opt.options(), true};
  Vec ew = kInit, ez{0.0};
  for (int s = 0; s < 3; ++s) {
    if (s == 2) opt.scale_lr(0.5);  // a schedule halving every group's lr
    const double factor = s == 2 ? 0.5 : 1.0;
    set_grad(w, kGrads[s]);
    set_grad(log_z, {kGrads[s][1]});
    opt.step();
    ref_w.step(ew, kGrads[s], 1e-3 * factor, 0.01);
    ref_z.step(ez, {kGrads[s][1]}, 0.1 * factor, 0.0);
    ASSERT_TRUE(all_close(w, ew, 0, 1e-14));
    ASSERT_TRUE(all_close(log_z, ez, 0, 1e-14));
  }
  EXPECT_EQ(opt.groups()[1].lr, 0.05);
  opt.set_lr(1, 0.2);
  EXPECT_EQ(opt.groups()[1].lr, 0.2);
  EXPECT_THROW_MSG(opt.set_lr(2, 0.1), "AdamW.set_lr", "group 2 does not exist");
}

TEST(Adam, SkipsParametersWithoutGradientAndCorrectsForTheirOwnSteps) {
  Tensor a = param(kInit), b = param(kInit);
  nn::Adam opt({a, b}, nn::AdamOptions{.lr = 0.1});
  set_grad(a, kGrads[0]);
  opt.step();  // b has no gradient: untouched, no state
  EXPECT_EQ(values(b), kInit);
  EXPECT_EQ(opt.state(1).step, 0);
  EXPECT_TRUE(opt.state(1).buffers.empty());

  set_grad(a, kGrads[1]);
  set_grad(b, kGrads[1]);
  opt.step();
  // b's first update is a first step: corrected with step 1, not 2.
  AdamRef ref{opt.options()};
  Vec expected = kInit;
  ref.step(expected, kGrads[1], 0.1, 0.0);
  EXPECT_TRUE(all_close(b, expected, 0, 1e-15));
  EXPECT_EQ(opt.state(0).step, 2);
  EXPECT_EQ(opt.state(1).step, 1);

  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined() || b.grad().defined());
  const Vec a_before = values(a);
  opt.step();
  EXPECT_EQ(values(a), a_before);
}

TEST(Optimizer, StateDictRoundTripResumesExactly) {
  Tensor p1 = param(kInit), q1 = param({3.0});
  nn::Adam a({{{p1}}, {{q1}, 0.05}}, nn::AdamOptions{.lr = 0.01});
  for (int s = 0; s < 2; ++s) {
    set_grad(p1, kGrads[s]);
    a.step();
  }
  a.set_lr(0, 0.007);
  const nn::StateDict sd = a.state_dict();
  std::vector<std::string> keys;
  for (const auto& [k, t] : sd) keys.push_back(k);
  // q1 never had a gradient, so it has no state.
  EXPECT_EQ(keys, (std::vector<std::string>{"groups.0.lr", "groups.1.lr", "state.0.exp_avg", "state.0.exp_avg_sq",
                                            "state.0.step"}));

  Tensor p2 = param(values(p1)), q2 = param({3.0});
  nn::Adam b({{{p2}}, {{q2}, 0.05}}, nn::AdamOptions{.lr = 0.01});
  b.load_state_dict(sd);
  EXPECT_EQ(b.groups()[0].lr, 0.007);
  EXPECT_EQ(b.state(0).step, 2);
  // The loaded moments are copies: stepping one optimizer leaves the other's alone.
  EXPECT_FALSE(b.state(0).buffers.at("exp_avg").storage() == a.state(0).buffers.at("exp_avg").storage());
  for (int s = 2; s < 4; ++s) {
    set_grad(p1, kGrads[s]);
    set_grad(p2, kGrads[s]);
    set_grad(q1, {1.0});
    set_grad(q2, {1.0});
    a.step();
    b.step();
  }
  EXPECT_EQ(values(p1), values(p2));
  EXPECT_EQ(values(q1), values(q2));
}

TEST(Optimizer, LoadStateDictNamesProblemsAndChangesNothing) {
  Tensor p = param(kInit);
  nn::SGD opt({p}, nn::SGDOptions{.lr = 0.1, .momentum = 0.9});
  set_grad(p, kGrads[0]);
  opt.step();
  const nn::StateDict good = opt.state_dict();

  nn::StateDict bad = good;
  bad.erase("groups.0.lr");
  bad["state.0.momentum_buffer"] = zeros(Shape{2}, DType::f64);
  bad["state.7.step"] = from_vector<int64_t>({1}, Shape{});
  EXPECT_THROW_MSG(opt.load_state_dict(bad), "SGD.load_state_dict", "missing keys: groups.0.lr",
                   "unexpected keys: state.7.step",
                   "state.0.momentum_buffer (expected f64[3] like its parameter, got f64[2]");
  bad = good;
  bad["state.0.step"] = scalar_tensor(1.0, DType::f64);
  bad.erase("state.0.momentum_buffer");
  EXPECT_THROW_MSG(opt.load_state_dict(bad), "state.0.step (expected a positive i64[]",
                   "missing keys: state.0.momentum_buffer");
  EXPECT_EQ(opt.state(0).step, 1);
  EXPECT_EQ(opt.groups()[0].lr, 0.1);

  // A parameter without a step entry has no state: its buffers are unexpected.
  bad = good;
  bad.erase("state.0.step");
  EXPECT_THROW_MSG(opt.load_state_dict(bad), "unexpected keys: state.0.momentum_buffer");
}

}  // namespace
}  // namespace subtb
