// `subtb train hypergrid|bitseq|setgen`: train a GFlowNet on one of the papers'
// environments with any objective of gflownet/trainer.h, on-policy or with a replay
// buffer, evaluating as it goes (exact L1 / JSD where the space is enumerable, modes,
// top-k reward, Spearman; gflownet/training_run.h). The three commands share every flag
// but the environment's own and the run folder (config.json, metrics.jsonl, curves.png,
// checkpoints/), from which --resume continues a run exactly.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "apps/subtb/commands.h"
#include "envs/gfn/bit_sequence.h"
#include "envs/gfn/hypergrid.h"
#include "envs/gfn/set_generation.h"
#include "gflownet/trainer.h"
#include "gflownet/training_run.h"
#include "tensor/error.h"

namespace subtb::cli {

namespace {

struct TrainFlags {
  // hypergrid
  int dim = 2;
  int height = 8;
  double r0 = 0.1;
  // bitseq
  int bits = 120;
  int word_bits = 8;
  int num_modes = 60;
  std::uint64_t mode_seed = 0;
  std::string order = "append";
  double reward_temperature = 1.0;
  double beta = 0;  // 0: log R = -d / T; positive: log R = -beta d / n
  int mode_threshold = 0;
  int test_variants = 10;
  // setgen
  std::string size = "small";
  // every environment
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
  int64_t replay_size = 0;
  double replay_fraction = 0;
  double backward_fraction = 0;
  std::string replay_priority = "uniform";
  int top_k = 100;
  int importance_samples = 16;
  int64_t random_test_states = 256;
  std::string device = "cpu";
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

// The environment's part of config.json (and its flags), per command.
nlohmann::json env_json(const std::string& env, const TrainFlags& f) {
  if (env == "hypergrid") return {{"env", env}, {"ndim", f.dim}, {"height", f.height}, {"r0", f.r0}};
  if (env == "bitseq") {
    return {{"env", env},
            {"n", f.bits},
            {"k", f.word_bits},
            {"num_modes", f.num_modes},
            {"mode_seed", f.mode_seed},
            {"order", f.order},
            {"reward_temperature", f.reward_temperature},
            {"beta", f.beta},
            {"mode_threshold", f.mode_threshold},
            {"test_variants", f.test_variants}};
  }
  return {{"env", env}, {"size", f.size}};
}

nlohmann::json config_json(const std::string& env, const TrainFlags& f, const std::string& out) {
  nlohmann::json j = env_json(env, f);
  j.update({{"objective", f.objective},
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
            {"replay_size", f.replay_size},
            {"replay_fraction", f.replay_fraction},
            {"backward_fraction", f.backward_fraction},
            {"replay_priority", f.replay_priority},
            {"top_k", f.top_k},
            {"importance_samples", f.importance_samples},
            {"random_test_states", f.random_test_states},
            {"device", f.device},
            {"out", out}});
  return j;
}

// The flags that config_json records, with its keys; --steps is left out, as a resumed
// run may extend the saved one. Flags a command does not have are skipped.
constexpr std::pair<const char*, const char*> kConfigFlags[] = {{"--ndim", "ndim"},
                                                                {"--height", "height"},
                                                                {"--r0", "r0"},
                                                                {"--n", "n"},
                                                                {"--k", "k"},
                                                                {"--num-modes", "num_modes"},
                                                                {"--mode-seed", "mode_seed"},
                                                                {"--order", "order"},
                                                                {"--reward-temperature", "reward_temperature"},
                                                                {"--beta", "beta"},
                                                                {"--mode-threshold", "mode_threshold"},
                                                                {"--test-variants", "test_variants"},
                                                                {"--size", "size"},
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
                                                                {"--skip-nonfinite", "skip_nonfinite"},
                                                                {"--replay-size", "replay_size"},
                                                                {"--replay-fraction", "replay_fraction"},
                                                                {"--backward-fraction", "backward_fraction"},
                                                                {"--replay-priority", "replay_priority"},
                                                                {"--top-k", "top_k"},
                                                                {"--importance-samples", "importance_samples"},
                                                                {"--random-test-states", "random_test_states"},
                                                                {"--device", "device"}};

// Reads `key` into `value` when the saved config has it: runs saved before a flag existed
// keep that flag's default.
template <class T>
void get_if_present(const nlohmann::json& j, const char* key, T& value) {
  if (j.contains(key)) j.at(key).get_to(value);
}

TrainFlags flags_from_json(const nlohmann::json& j) {
  TrainFlags f;
  const std::string env = j.at("env").get<std::string>();
  if (env == "hypergrid") {
    j.at("ndim").get_to(f.dim);
    j.at("height").get_to(f.height);
    j.at("r0").get_to(f.r0);
  } else if (env == "bitseq") {
    j.at("n").get_to(f.bits);
    j.at("k").get_to(f.word_bits);
    j.at("num_modes").get_to(f.num_modes);
    j.at("mode_seed").get_to(f.mode_seed);
    j.at("order").get_to(f.order);
    j.at("reward_temperature").get_to(f.reward_temperature);
    j.at("beta").get_to(f.beta);
    j.at("mode_threshold").get_to(f.mode_threshold);
    j.at("test_variants").get_to(f.test_variants);
  } else {
    j.at("size").get_to(f.size);
  }
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
  get_if_present(j, "replay_size", f.replay_size);
  get_if_present(j, "replay_fraction", f.replay_fraction);
  get_if_present(j, "backward_fraction", f.backward_fraction);
  get_if_present(j, "replay_priority", f.replay_priority);
  get_if_present(j, "top_k", f.top_k);
  get_if_present(j, "importance_samples", f.importance_samples);
  get_if_present(j, "random_test_states", f.random_test_states);
  get_if_present(j, "device", f.device);
  return f;
}

// The flags of the run saved in `given.resume`. Flags given with --resume must agree with
// the saved config, but --steps, which may extend the run.
TrainFlags resumed_flags(const std::string& env, const TrainFlags& given, const CLI::App& command) {
  const std::string where = "train " + env + " --resume";
  const nlohmann::json saved = nlohmann::json::parse(gflownet::saved_config(given.resume));
  const nlohmann::json asked = config_json(env, given, given.resume);
  SUBTB_CHECK(saved.value("env", std::string("hypergrid")) == env, where, ": '", given.resume, "' is a run on ",
              saved.value("env", std::string("hypergrid")), ", not ", env);
  TrainFlags f;
  try {
    // Hypergrid runs saved before the other environments existed have no "env" key.
    nlohmann::json complete = saved;
    complete["env"] = env;
    f = flags_from_json(complete);
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW(where, ": the config saved in '", given.resume, "' is incomplete: ", e.what());
  }
  for (const auto& [flag, key] : kConfigFlags) {
    if (command.get_option_no_throw(flag) == nullptr || command.count(flag) == 0) continue;
    SUBTB_CHECK(saved.contains(key) && asked.at(key) == saved.at(key), where, ": ", flag, " ", asked.at(key).dump(),
                " conflicts with the run's saved ", key, " ", saved.contains(key) ? saved.at(key).dump() : "(none)");
  }
  if (command.count("--steps") > 0) f.steps = given.steps;
  f.out = given.resume;
  f.resume = given.resume;
  return f;
}

std::unique_ptr<gfn::DiscreteEnv> make_env(const std::string& env, const TrainFlags& f) {
  if (env == "hypergrid") return std::make_unique<gfn::HyperGrid>(gfn::HyperGridConfig{f.dim, f.height, f.r0});
  if (env == "bitseq") {
    gfn::BitSequenceConfig c;
    c.length = f.bits;
    c.word_bits = f.word_bits;
    c.num_modes = f.num_modes;
    c.mode_seed = f.mode_seed;
    c.order = f.order == "append" ? gfn::BitOrder::append : gfn::BitOrder::any_position;
    c.temperature = f.reward_temperature;
    if (f.beta > 0) c.beta = f.beta;
    c.mode_threshold = f.mode_threshold;
    return std::make_unique<gfn::BitSequence>(c);
  }
  return std::make_unique<gfn::SetGeneration>(gfn::set_generation_task(f.size));
}

void run(const std::string& env_name, const TrainFlags& flags, const CLI::App& command) {
  const TrainFlags f = flags.resume.empty() ? flags : resumed_flags(env_name, flags, command);
  const std::unique_ptr<gfn::DiscreteEnv> env = make_env(env_name, f);
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
  config.replay = {f.replay_size, f.replay_fraction, f.backward_fraction,
                   gflownet::parse_replay_priority(f.replay_priority)};
  config.device = Device::parse(f.device);
  gflownet::Trainer trainer(*env, config);

  gflownet::RunOptions run;
  run.steps = f.steps;
  run.eval_every = f.eval_every;
  run.checkpoint_every = f.checkpoint_every;
  run.resume = !f.resume.empty();
  run.out = f.out.empty() ? "runs/" + env_name + "-" + f.objective + "-seed" + std::to_string(f.seed) : f.out;
  run.config_json = config_json(env_name, f, run.out.string()).dump();
  run.progress = &std::cout;
  run.eval.top_k = f.top_k;
  run.eval.importance_samples = f.importance_samples;
  run.eval.random_test_states = f.random_test_states;
  if (const auto* bits = dynamic_cast<const gfn::BitSequence*>(env.get())) {
    // The SubTB paper's test set: mutated copies of every mode (the same for every training seed).
    run.eval.test_states = bits->test_set(f.test_variants, f.mode_seed);
  }
  std::cout << (run.resume ? "Resuming training on " : "Training on ") << env->name() << " with " << f.objective
            << ", run folder " << run.out.string() << "\n";
  gflownet::run_training(*env, trainer, run);
}

// The flags every environment shares.
void add_shared_flags(CLI::App* cmd, TrainFlags& f, const std::string& env_name) {
  cmd->add_option("--objective", f.objective, "Training objective: tb, db, subtb, fldb, flsubtb, fm, mdb or zvar")
      ->check(CLI::IsMember({"tb", "db", "subtb", "fldb", "flsubtb", "fm", "mdb", "zvar"}))
      ->capture_default_str();
  cmd->add_option("--lambda", f.lambda, "SubTB lambda (>= 0)")->check(non_negative)->capture_default_str();
  cmd->add_option("--weighting,--subtb-weighting", f.weighting,
                  "SubTB weighting: geometric_within, equal_within, equal, geometric, tb or db")
      ->check(CLI::IsMember({"geometric_within", "equal_within", "equal", "geometric", "tb", "db"}))
      ->capture_default_str();
  cmd->add_option("--batch", f.batch, "Trajectories per step")->check(positive)->capture_default_str();
  cmd->add_option("--steps", f.steps, "Training steps")->check(positive)->capture_default_str();
  cmd->add_option("--lr", f.lr, "Adam learning rate of the network")->check(positive)->capture_default_str();
  cmd->add_option("--lr-logz", f.lr_log_z, "Adam learning rate of log Z (tb)")->check(positive)->capture_default_str();
  cmd->add_option("--hidden", f.hidden, "Hidden width of the MLP")->check(positive)->capture_default_str();
  cmd->add_option("--layers", f.layers, "Hidden layers of the MLP")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_option("--pb", f.pb, "Backward policy: uniform, or learned (a head on the shared trunk)")
      ->check(CLI::IsMember({"uniform", "learned"}))
      ->capture_default_str();
  cmd->add_option("--epsilon", f.epsilon, "Exploration: weight of the uniform mixture over valid actions")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--temperature", f.temperature, "Sampling temperature of P_F's logits")
      ->check(positive)
      ->capture_default_str();
  cmd->add_option("--seed", f.seed, "Random seed (weights and sampling)")->capture_default_str();
  cmd->add_option("--eval-every", f.eval_every, "Evaluate and log every N steps")
      ->check(positive)
      ->capture_default_str();
  cmd->add_option("--checkpoint-every", f.checkpoint_every, "Checkpoint every N steps (0: at every evaluation)")
      ->check(non_negative)
      ->capture_default_str();
  cmd->add_flag("--skip-nonfinite", f.skip_nonfinite,
                "Skip a batch whose loss is not finite (counted in the metrics) instead of stopping");
  cmd->add_option("--replay-size", f.replay_size, "Replay buffer capacity in trajectories (0: on-policy only)")
      ->check(non_negative)
      ->capture_default_str();
  cmd->add_option("--replay-fraction", f.replay_fraction,
                  "Share of each batch replayed from the buffer (re-scored under the current policy)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--backward-fraction", f.backward_fraction,
                  "Share of each batch made by rolling the buffer's terminal states back to s_0 with P_B")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--replay-priority", f.replay_priority, "How buffer entries are drawn: uniform, or reward (∝ R)")
      ->check(CLI::IsMember({"uniform", "reward"}))
      ->capture_default_str();
  cmd->add_option("--top-k", f.top_k, "k of the top-k mean reward over the unique sampled objects")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--importance-samples", f.importance_samples,
                  "Backward trajectories per test state when log p(x) is estimated (Spearman)")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  cmd->add_option("--random-test-states", f.random_test_states,
                  "Spearman test set size where the space is not enumerated and has no test set of its own "
                  "(uniform rollouts; 0: no Spearman)")
      ->check(non_negative)
      ->capture_default_str();
  cmd->add_option("--device", f.device, "Device of the policy and the loss: cpu or cuda[:i]")->capture_default_str();
  CLI::Option* out =
      cmd->add_option("--out", f.out, "Run folder (default runs/" + env_name + "-<objective>-seed<seed>)");
  cmd->add_option("--resume", f.resume,
                  "Continue the run in this folder from its last checkpoint, with its saved flags "
                  "(--steps may extend it)")
      ->excludes(out);
}

}  // namespace

void add_train_command(CLI::App& app) {
  static TrainFlags grid_flags, bit_flags, set_flags;
  CLI::App* train = app.add_subcommand("train", "Train a GFlowNet");
  train->require_subcommand(1);

  CLI::App* grid = train->add_subcommand("hypergrid", "Train on HyperGrid(D, H, R0) and track the exact L1 to R/Z");
  TrainFlags& g = grid_flags;
  grid->add_option("--ndim", g.dim, "Grid dimension D")->check(CLI::Range(1, 16))->capture_default_str();
  grid->add_option("--height", g.height, "Grid side H")->check(CLI::Range(2, 1 << 20))->capture_default_str();
  grid->add_option("--r0", g.r0, "Base reward R0 (>= 0)")->check(non_negative)->capture_default_str();
  add_shared_flags(grid, g, "hypergrid");
  grid->callback([grid] { run("hypergrid", grid_flags, *grid); });

  CLI::App* bits =
      train->add_subcommand("bitseq", "Train on BitSequence(n, k): modes found, Spearman on mutated modes");
  TrainFlags& b = bit_flags;
  bits->add_option("--n", b.bits, "String length in bits (a multiple of 8 and of k, at most 512)")
      ->check(CLI::Range(8, 512))
      ->capture_default_str();
  bits->add_option("--k", b.word_bits, "Bits per step (word)")->check(CLI::Range(1, 16))->capture_default_str();
  bits->add_option("--num-modes", b.num_modes, "Size of the mode set")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  bits->add_option("--mode-seed", b.mode_seed, "Seed of the mode set (and of the Spearman test set)")
      ->capture_default_str();
  bits->add_option("--order", b.order, "append (a tree, P_B = 1) or any (a word into any empty slot: a DAG)")
      ->check(CLI::IsMember({"append", "any"}))
      ->capture_default_str();
  bits->add_option("--reward-temperature", b.reward_temperature, "log R = -d / T, d the distance to the modes")
      ->check(positive)
      ->capture_default_str();
  bits->add_option("--beta", b.beta, "When positive: log R = -beta d / n instead")
      ->check(non_negative)
      ->capture_default_str();
  bits->add_option("--mode-threshold", b.mode_threshold, "A sample within this Hamming distance finds the mode")
      ->check(CLI::Range(0, 512))
      ->capture_default_str();
  bits->add_option("--test-variants", b.test_variants, "Spearman test set: mutated copies per mode")
      ->check(CLI::Range(1, 1 << 16))
      ->capture_default_str();
  add_shared_flags(bits, b, "bitseq");
  bits->callback([bits] { run("bitseq", bit_flags, *bits); });

  CLI::App* sets = train->add_subcommand(
      "setgen", "Train on the FL-GFN set generation task (data/fl_set_energies.json): top-k mean reward");
  TrainFlags& s = set_flags;
  sets->add_option("--size", s.size, "Task: small (20 of 30), medium (60 of 80) or large (80 of 100)")
      ->check(CLI::IsMember({"small", "medium", "large"}))
      ->capture_default_str();
  add_shared_flags(sets, s, "setgen");
  sets->callback([sets] { run("setgen", set_flags, *sets); });
}

}  // namespace subtb::cli
