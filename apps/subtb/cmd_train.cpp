// `subtb train hypergrid`: train a GFlowNet on HyperGrid(D, H, R0) with trajectory
// balance, detailed balance or SubTB(lambda), evaluating the exact L1 to the target
// distribution as it goes; the run folder holds config.json, metrics.jsonl and curves.png.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/subtb/commands.h"
#include "envs/gfn/hypergrid.h"
#include "gflownet/trainer.h"
#include "gflownet/training_run.h"

namespace subtb::cli {

namespace {

struct TrainFlags {
  int dim = 2;
  int height = 8;
  double r0 = 0.1;
  std::string objective = "tb";
  double lambda = 0.9;
  std::string weighting = "geometric_within";
  int64_t batch = 16;
  int64_t steps = 1000;
  double lr = 1e-3;
  double lr_log_z = 0.1;
  int64_t hidden = 256;
  int64_t layers = 2;
  std::string pb = "uniform";
  double epsilon = 0.0;
  double temperature = 1.0;
  std::uint64_t seed = 0;
  int64_t eval_every = 100;
  std::string out;
};

// Validators with plain messages (CLI11's PositiveNumber names the largest double as the bound).
CLI::Validator at_least_zero(bool strict) {
  return CLI::Validator(
      [strict](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "must be a number, got '" + text + "'";
        if (strict ? value > 0 : value >= 0) return "";
        return std::string("must be ") + (strict ? "positive" : "non-negative") + ", got " + text;
      },
      strict ? "POSITIVE" : "NON-NEGATIVE");
}
const CLI::Validator positive = at_least_zero(true);
const CLI::Validator non_negative = at_least_zero(false);

nlohmann::json config_json(const TrainFlags& f, const std::string& out) {
  return {{"env", "hypergrid"},
          {"ndim", f.dim},
          {"height", f.height},
          {"r0", f.r0},
          {"objective", f.objective},
          {"lambda", f.lambda},
          {"weighting", f.weighting},
          {"batch", f.batch},
          {"steps", f.steps},
          {"lr", f.lr},
          {"lr_logz", f.lr_log_z},
          {"hidden", f.hidden},
          {"layers", f.layers},
          {"pb", f.pb},
          {"epsilon", f.epsilon},
          {"temperature", f.temperature},
          {"seed", f.seed},
          {"eval_every", f.eval_every},
          {"out", out}};
}

void run_hypergrid(const TrainFlags& f) {
  const gfn::HyperGrid env({f.dim, f.height, f.r0});
  gflownet::TrainerConfig config;
  config.objective = gflownet::parse_objective(f.objective);
  config.subtb = {f.lambda, gflownet::parse_subtb_weighting(f.weighting)};
  config.hidden = f.hidden;
  config.layers = f.layers;
  config.backward = gflownet::parse_backward_policy(f.pb);
  config.sampling = {f.epsilon, f.temperature};
  config.batch = f.batch;
  config.lr = f.lr;
  config.lr_log_z = f.lr_log_z;
  config.seed = f.seed;
  gflownet::Trainer trainer(env, config);

  gflownet::RunOptions run;
  run.steps = f.steps;
  run.eval_every = f.eval_every;
  run.out = f.out.empty() ? "runs/hypergrid-" + f.objective + "-seed" + std::to_string(f.seed) : f.out;
  run.config_json = config_json(f, run.out.string()).dump();
  run.progress = &std::cout;
  std::cout << "Training on " << env.name() << " with " << f.objective << " (log Z = " << env.log_partition()
            << "), run folder " << run.out.string() << "\n";
  gflownet::run_training(env, trainer, run);
}

}  // namespace

void add_train_command(CLI::App& app) {
  static TrainFlags f;
  CLI::App* train = app.add_subcommand("train", "Train a GFlowNet");
  train->require_subcommand(1);
  CLI::App* grid = train->add_subcommand("hypergrid", "Train on HyperGrid(D, H, R0) and track the exact L1 to R/Z");
  grid->add_option("--ndim", f.dim, "Grid dimension D")->check(CLI::Range(1, 16))->capture_default_str();
  grid->add_option("--height", f.height, "Grid side H")->check(CLI::Range(2, 1 << 20))->capture_default_str();
  grid->add_option("--r0", f.r0, "Base reward R0 (>= 0)")->check(non_negative)->capture_default_str();
  grid->add_option("--objective", f.objective, "Training objective: tb, db or subtb")
      ->check(CLI::IsMember({"tb", "db", "subtb"}))
      ->capture_default_str();
  grid->add_option("--lambda", f.lambda, "SubTB lambda (>= 0)")->check(non_negative)->capture_default_str();
  grid->add_option("--weighting", f.weighting,
                   "SubTB weighting: geometric_within, equal_within, equal, geometric, tb or db")
      ->check(CLI::IsMember({"geometric_within", "equal_within", "equal", "geometric", "tb", "db"}))
      ->capture_default_str();
  grid->add_option("--batch", f.batch, "Trajectories per step")->check(positive)->capture_default_str();
  grid->add_option("--steps", f.steps, "Training steps")->check(positive)->capture_default_str();
  grid->add_option("--lr", f.lr, "Adam learning rate of the network")->check(positive)->capture_default_str();
  grid->add_option("--lr-logz", f.lr_log_z, "Adam learning rate of log Z (tb)")->check(positive)->capture_default_str();
  grid->add_option("--hidden", f.hidden, "Hidden width of the MLP")->check(positive)->capture_default_str();
  grid->add_option("--layers", f.layers, "Hidden layers of the MLP")->check(CLI::Range(1, 64))->capture_default_str();
  grid->add_option("--pb", f.pb, "Backward policy: uniform, or learned (a head on the shared trunk)")
      ->check(CLI::IsMember({"uniform", "learned"}))
      ->capture_default_str();
  grid->add_option("--epsilon", f.epsilon, "Exploration: weight of the uniform mixture over valid actions")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  grid->add_option("--temperature", f.temperature, "Sampling temperature of P_F's logits")
      ->check(positive)
      ->capture_default_str();
  grid->add_option("--seed", f.seed, "Random seed (weights and sampling)")->capture_default_str();
  grid->add_option("--eval-every", f.eval_every, "Evaluate and log every N steps")
      ->check(positive)
      ->capture_default_str();
  grid->add_option("--out", f.out, "Run folder (default runs/hypergrid-<objective>-seed<seed>)");
  grid->callback([] { run_hypergrid(f); });
}

}  // namespace subtb::cli
