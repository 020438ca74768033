// `subtb train hypergrid`: train a GFlowNet on HyperGrid(D, H, R0) with trajectory
// balance, detailed balance or SubTB(lambda), evaluating the exact L1 to the target
// distribution as it goes; the run folder holds config.json, metrics.jsonl, curves.png
// and checkpoints/, from which --resume continues the run exactly.
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "apps/subtb/commands.h"
#include "envs/gfn/hypergrid.h"
#include "gflownet/trainer.h"
#include "gflownet/training_run.h"
#include "tensor/error.h"

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
  int64_t checkpoint_every = 0;
  bool skip_nonfinite = false;
  std::string out;
  std::string resume;
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
          {"checkpoint_every", f.checkpoint_every},
          {"skip_nonfinite", f.skip_nonfinite},
          {"out", out}};
}

// The flags that config_json records, with its keys; --steps is left out, as a resumed
// run may extend the saved one.
constexpr std::pair<const char*, const char*> kConfigFlags[] = {{"--ndim", "ndim"},
                                                                {"--height", "height"},
                                                                {"--r0", "r0"},
                                                                {"--objective", "objective"},
                                                                {"--lambda", "lambda"},
                                                                {"--weighting", "weighting"},
                                                                {"--batch", "batch"},
                                                                {"--lr", "lr"},
                                                                {"--lr-logz", "lr_logz"},
                                                                {"--hidden", "hidden"},
                                                                {"--layers", "layers"},
                                                                {"--pb", "pb"},
                                                                {"--epsilon", "epsilon"},
                                                                {"--temperature", "temperature"},
                                                                {"--seed", "seed"},
                                                                {"--eval-every", "eval_every"},
                                                                {"--checkpoint-every", "checkpoint_every"},
                                                                {"--skip-nonfinite", "skip_nonfinite"}};

TrainFlags flags_from_json(const nlohmann::json& j) {
  TrainFlags f;
  j.at("ndim").get_to(f.dim);
  j.at("height").get_to(f.height);
  j.at("r0").get_to(f.r0);
  j.at("objective").get_to(f.objective);
  j.at("lambda").get_to(f.lambda);
  j.at("weighting").get_to(f.weighting);
  j.at("batch").get_to(f.batch);
  j.at("steps").get_to(f.steps);
  j.at("lr").get_to(f.lr);
  j.at("lr_logz").get_to(f.lr_log_z);
  j.at("hidden").get_to(f.hidden);
  j.at("layers").get_to(f.layers);
  j.at("pb").get_to(f.pb);
  j.at("epsilon").get_to(f.epsilon);
  j.at("temperature").get_to(f.temperature);
  j.at("seed").get_to(f.seed);
  j.at("eval_every").get_to(f.eval_every);
  j.at("checkpoint_every").get_to(f.checkpoint_every);
  j.at("skip_nonfinite").get_to(f.skip_nonfinite);
  return f;
}

// The flags of the run saved in `given.resume`. Flags given with --resume must agree with
// the saved config, but --steps, which may extend the run.
TrainFlags resumed_flags(const TrainFlags& given, const CLI::App& grid) {
  const nlohmann::json saved = nlohmann::json::parse(gflownet::saved_config(given.resume));
  const nlohmann::json asked = config_json(given, given.resume);
  TrainFlags f;
  try {
    f = flags_from_json(saved);
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("train hypergrid --resume: the config saved in '", given.resume, "' is incomplete: ", e.what());
  }
  for (const auto& [flag, key] : kConfigFlags) {
    if (grid.count(flag) == 0) continue;
    SUBTB_CHECK(asked.at(key) == saved.at(key), "train hypergrid --resume: ", flag, " ", asked.at(key).dump(),
                " conflicts with the run's saved ", key, " ", saved.at(key).dump());
  }
  if (grid.count("--steps") > 0) f.steps = given.steps;
  f.out = given.resume;
  f.resume = given.resume;
  return f;
}

void run_hypergrid(const TrainFlags& flags, const CLI::App& grid) {
  const TrainFlags f = flags.resume.empty() ? flags : resumed_flags(flags, grid);
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
  config.skip_nonfinite = f.skip_nonfinite;
  gflownet::Trainer trainer(env, config);

  gflownet::RunOptions run;
  run.steps = f.steps;
  run.eval_every = f.eval_every;
  run.checkpoint_every = f.checkpoint_every;
  run.resume = !f.resume.empty();
  run.out = f.out.empty() ? "runs/hypergrid-" + f.objective + "-seed" + std::to_string(f.seed) : f.out;
  run.config_json = config_json(f, run.out.string()).dump();
  run.progress = &std::cout;
  std::cout << (run.resume ? "Resuming training on " : "Training on ") << env.name() << " with " << f.objective
            << " (log Z = " << env.log_partition() << "), run folder " << run.out.string() << "\n";
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
  grid->add_option("--checkpoint-every", f.checkpoint_every, "Checkpoint every N steps (0: at every evaluation)")
      ->check(non_negative)
      ->capture_default_str();
  grid->add_flag("--skip-nonfinite", f.skip_nonfinite,
                 "Skip a batch whose loss is not finite (counted in the metrics) instead of stopping");
  CLI::Option* out = grid->add_option("--out", f.out, "Run folder (default runs/hypergrid-<objective>-seed<seed>)");
  grid->add_option("--resume", f.resume,
                   "Continue the run in this folder from its last checkpoint, with its saved flags "
                   "(--steps may extend it)")
      ->excludes(out);
  grid->callback([grid] { run_hypergrid(f, *grid); });
}

}  // namespace subtb::cli
