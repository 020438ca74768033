// One GFlowNet training step on HyperGrid, the workload of bench/peers/hypergrid.py:
// sample a batch on-policy, evaluate it with grad, the objective's loss, backward and one
// Adam update (Trainer::step). The model is the papers': 2 x 256 LeakyReLU trunk shared by
// the P_F, learned P_B and log F heads. Each benchmark first trains a fresh model for
// kWarmup steps, as the peer does before it starts its clock, so that both time the same
// phase of training (trajectory lengths grow as the policy learns).
//
// Names: train_step/<objective>/D<ndim>_H<height>_B<batch>.
#include <benchmark/benchmark.h>

#include <string>

#include "envs/gfn/hypergrid.h"
#include "gflownet/trainer.h"

namespace {

using subtb::gflownet::Objective;

constexpr int kWarmup = 100;

struct Case {
  int dim, height;
  double r0;
  int64_t batch;
};

void train_step(benchmark::State& state, Objective objective, Case c) {
  const subtb::gfn::HyperGrid env({c.dim, c.height, c.r0});
  subtb::gflownet::TrainerConfig config;
  config.objective = objective;
  config.backward = subtb::gflownet::BackwardPolicy::learned;
  config.batch = c.batch;
  subtb::gflownet::Trainer trainer(env, config);
  for (int i = 0; i < kWarmup; ++i) trainer.step();
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step());
}

const bool registered = [] {
  for (Objective objective : {Objective::tb, Objective::db, Objective::subtb}) {
    for (Case c : {Case{2, 8, 0.1, 16}, Case{4, 12, 1e-3, 64}}) {
      const std::string name = "train_step/" + std::string(subtb::gflownet::to_string(objective)) + "/D" +
                               std::to_string(c.dim) + "_H" + std::to_string(c.height) + "_B" + std::to_string(c.batch);
      benchmark::RegisterBenchmark(name.c_str(), train_step, objective, c)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime()
          ->MinTime(1.0);
    }
  }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
