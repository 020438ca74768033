// `subtb demo`: the main job until the GFlowNet stack lands. A two-layer MLP learns a
// smooth function of two inputs from noisy samples, with every gradient coming from
// subtb's autograd and a hand-written Adam update; the loss printed every few steps
// should fall by two orders of magnitude.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "apps/subtb/commands.h"
#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace subtb::cli {

namespace {

struct DemoOptions {
  int64_t steps = 600;
  int64_t hidden = 64;
  int64_t batch = 256;
  double lr = 1e-2;
  uint64_t seed = 0;
  int64_t print_every = 50;
};

// The synthetic task: y = sin(3 x0) * cos(2 x1) + 0.5 x0 x1, x uniform in [-1, 1]^2.
Tensor target_function(const Tensor& x) {
  Tensor x0 = x.select(1, 0), x1 = x.select(1, 1);
  return (sin(x0 * 3.0) * cos(x1 * 2.0) + x0 * x1 * 0.5).unsqueeze(1);
}

struct Adam {
  std::vector<Tensor> params, m, v;
  double lr, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  int64_t t = 0;

  Adam(std::vector<Tensor> p, double learning_rate) : params(std::move(p)), lr(learning_rate) {
    for (const Tensor& q : params) {
      m.push_back(zeros_like(q));
      v.push_back(zeros_like(q));
    }
  }
  void step() {
    NoGradGuard no_grad;
    ++t;
    const double c1 = 1.0 - std::pow(beta1, static_cast<double>(t));
    const double c2 = 1.0 - std::pow(beta2, static_cast<double>(t));
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor g = params[i].grad();
      m[i] = m[i] * beta1 + g * (1.0 - beta1);
      v[i] = v[i] * beta2 + square(g) * (1.0 - beta2);
      const Tensor update = (m[i] / c1) / (sqrt(v[i] / c2) + eps);
      add_(params[i], update, -lr);
      params[i].zero_grad();
    }
  }
};

void run_demo(const DemoOptions& o) {
  Generator gen(o.seed);
  // He-style initialisation scaled for tanh.
  Tensor w1 = randn({2, o.hidden}, DType::f32, kCPU, &gen, 0.0, 1.0 / std::sqrt(2.0)).requires_grad_();
  Tensor b1 = zeros({o.hidden}).requires_grad_();
  Tensor w2 = randn({o.hidden, o.hidden}, DType::f32, kCPU, &gen, 0.0, 1.0 / std::sqrt(double(o.hidden))).requires_grad_();
  Tensor b2 = zeros({o.hidden}).requires_grad_();
  Tensor w3 = randn({o.hidden, 1}, DType::f32, kCPU, &gen, 0.0, 1.0 / std::sqrt(double(o.hidden))).requires_grad_();
  Tensor b3 = zeros({1}).requires_grad_();
  Adam adam({w1, b1, w2, b2, w3, b3}, o.lr);

  std::printf("subtb demo: MLP 2 -> %lld -> %lld -> 1 (tanh), Adam lr %.0e, batch %lld, %lld steps, seed %llu\n",
              static_cast<long long>(o.hidden), static_cast<long long>(o.hidden), o.lr,
              static_cast<long long>(o.batch), static_cast<long long>(o.steps),
              static_cast<unsigned long long>(o.seed));
  const auto start = std::chrono::steady_clock::now();
  double first = 0, last = 0;
  for (int64_t step = 1; step <= o.steps; ++step) {
    Tensor x = rand({o.batch, 2}, DType::f32, kCPU, &gen, -1.0, 1.0);
    Tensor y = target_function(x) + randn({o.batch, 1}, DType::f32, kCPU, &gen, 0.0, 0.01);
    Tensor h = tanh(matmul(x, w1) + b1);
    h = tanh(matmul(h, w2) + b2);
    Tensor loss = mean(square(matmul(h, w3) + b3 - y));
    loss.backward();
    adam.step();
    last = loss.item();
    if (step == 1) first = last;
    if (step == 1 || step % o.print_every == 0 || step == o.steps) {
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("step %5lld  loss %.6f  (%.0f steps/s)\n", static_cast<long long>(step), last,
                  static_cast<double>(step) / secs);
    }
  }
  std::printf("loss fell from %.4f to %.6f (x%.0f)\n", first, last, first / last);
}

}  // namespace

void add_demo_command(CLI::App& app) {
  static DemoOptions options;
  CLI::App* demo = app.add_subcommand("demo", "Fit a small MLP to a synthetic 2-D function with autograd");
  demo->add_option("--steps", options.steps, "Training steps")->check(CLI::PositiveNumber);
  demo->add_option("--hidden", options.hidden, "Hidden width")->check(CLI::PositiveNumber);
  demo->add_option("--batch", options.batch, "Batch size")->check(CLI::PositiveNumber);
  demo->add_option("--lr", options.lr, "Adam learning rate")->check(CLI::PositiveNumber);
  demo->add_option("--seed", options.seed, "Random seed");
  demo->add_option("--print-every", options.print_every, "Print the loss every N steps")->check(CLI::PositiveNumber);
  demo->callback([] { run_demo(options); });
}

}  // namespace subtb::cli
