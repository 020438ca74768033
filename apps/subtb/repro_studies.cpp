#include "apps/subtb/repro_studies.h"

#include <memory>
#include <string>
#include <vector>

#include "envs/gfn/bit_sequence.h"
#include "envs/gfn/hypergrid.h"
#include "envs/gfn/set_generation.h"

namespace subtb::cli {

namespace {

std::vector<uint64_t> first_seeds(int n) {
  std::vector<uint64_t> seeds;
  for (int i = 0; i < n; ++i) seeds.push_back(static_cast<uint64_t>(i));
  return seeds;
}

gflownet::Arm arm(std::string label, gflownet::Objective objective, const gflownet::TrainerConfig& base,
                  double epsilon = 0.0) {
  gflownet::TrainerConfig config = base;
  config.objective = objective;
  config.sampling.epsilon = epsilon;
  return {std::move(label), config};
}

// The SubTB paper's three arms, on one model and optimiser.
std::vector<gflownet::Arm> tb_db_subtb_arms(const gflownet::TrainerConfig& base) {
  return {arm("TB", gflownet::Objective::tb, base), arm("DB", gflownet::Objective::db, base),
          arm("SubTB(0.9)", gflownet::Objective::subtb, base)};
}

// The papers' model and optimiser: 2 x 256 LeakyReLU trunk, batch 16, Adam 1e-3 (log Z 0.1),
// SubTB with lambda = 0.9 weighted geometrically within each trajectory.
gflownet::TrainerConfig paper_config(gflownet::BackwardPolicy backward) {
  gflownet::TrainerConfig c;
  c.hidden = 256;
  c.layers = 2;
  c.backward = backward;
  c.batch = 16;
  c.lr = 1e-3;
  c.lr_log_z = 0.1;
  c.subtb = {0.9, gflownet::SubTBWeighting::geometric_within};
  return c;
}

// full_time: the full mode's expected time on two cores (the quick mode's CPU time scaled
// by the number of training steps).
std::string mode_text(const gflownet::Study& study, bool quick, const std::string& quick_cuts,
                      const std::string& full_time) {
  const std::string runs = std::to_string(study.steps) + " steps and " + std::to_string(study.seeds.size()) + " seed" +
                           (study.seeds.size() == 1 ? "" : "s") + " per configuration";
  if (!quick) return "**Full mode**: " + runs + "; expect " + full_time + " on two cores.";
  return "**Quick mode**: " + runs + quick_cuts +
         ", so that the whole study runs in about five minutes on two cores. It shows the early phase of training "
         "only; `--full` runs the paper-sized study (" +
         full_time + " on two cores).";
}

}  // namespace

gflownet::Study hypergrid_study(ReproMode mode, std::optional<int> seeds) {
  const bool quick = mode == ReproMode::quick;
  gflownet::Study study;
  study.name = "hypergrid";
  study.title = "SubTB paper: TB vs DB vs SubTB(λ = 0.9) on hypergrids";
  study.steps = quick ? 1000 : 20000;
  study.eval_every = quick ? 100 : 250;
  study.seeds = first_seeds(seeds.value_or(quick ? 2 : 5));

  const gflownet::TrainerConfig base = paper_config(gflownet::BackwardPolicy::learned);
  study.arms = tb_db_subtb_arms(base);

  for (int dim : {2, 4}) {
    for (double r0 : {1e-3, 1e-4}) {
      auto env = std::make_shared<gfn::HyperGrid>(gfn::HyperGridConfig{dim, 12, r0});
      study.panels.push_back({"D=" + std::to_string(dim) + ", H=12, R0=" + (r0 == 1e-3 ? "1e-3" : "1e-4"), env});
    }
  }
  study.metrics = gflownet::exact_distribution_metrics({1.0, 0.5, 0.25});
  study.make_probe = gflownet::exact_distribution_probe;
  study.claims = {{"SubTB(λ) converges faster than TB and DB (exact L1 to R/Z)", "SubTB(0.9)", {"TB", "DB"}, 0},
                  {"SubTB(λ) learns log Z better than TB and DB", "SubTB(0.9)", {"TB", "DB"}, 1}};

  study.description =
      "Madan et al. (2023), \"Learning GFlowNets from partial episodes for improved convergence and "
      "stability\", compare trajectory balance (TB), detailed balance (DB) and SubTB(λ) on hypergrids and "
      "claim that SubTB(λ) converges faster and more stably than both, most clearly on the larger, sparser "
      "grids (small R0). Setting here, as in the paper: HyperGrid(D, H = 12, R0) with R1 = 0.5, R2 = 2 and an "
      "exit action from every state (torchgfn's MDP); an MLP of 2 x 256 LeakyReLU units whose trunk is shared "
      "by the P_F, P_B (learned, tied to P_F) and log F heads; on-policy batches of 16 trajectories; Adam "
      "1e-3 (log Z 0.1); SubTB with λ = 0.9 and the paper's geometric weighting within each trajectory. "
      "The metric is the exact L1 (sum over states of |p - q|, in [0, 2]) between the policy's terminal "
      "distribution, computed by dynamic programming over the grid, and R/Z: no sampling noise. The learned "
      "log Z is TB's scalar, or log F(s_0) for DB and SubTB.\n\n" +
      mode_text(study, quick, " (the paper trains far longer, over more seeds)", "about two to three hours");
  return study;
}

gflownet::Study bitseq_study(ReproMode mode, std::optional<int> seeds) {
  const bool quick = mode == ReproMode::quick;
  // Samples come within about 34 bits of the modes in the quick mode's 2000 steps, so a
  // tighter threshold would find none there.
  const int threshold = quick ? 34 : 28;
  constexpr int kTestVariants = 10;
  gflownet::Study study;
  study.name = "bitseq";
  study.title = "SubTB paper: TB vs DB vs SubTB(λ = 0.9) on bit sequences";
  study.steps = quick ? 2000 : 20000;
  study.eval_every = quick ? 200 : 1000;
  study.seeds = first_seeds(seeds.value_or(quick ? 2 : 5));

  // Sequences are built left to right, so every state has one parent: P_B = 1.
  const gflownet::TrainerConfig base = paper_config(gflownet::BackwardPolicy::uniform);
  study.arms = tb_db_subtb_arms(base);
  gfn::BitSequenceConfig config;
  config.mode_threshold = threshold;
  auto env = std::make_shared<gfn::BitSequence>(config);
  gflownet::EvalOptions eval;
  eval.test_states = env->test_set(kTestVariants, config.mode_seed);
  study.panels = {{"n=120, k=8, 60 modes", env}};
  study.metrics = {{"modes_found", "modes found", false, {1, 5, 15}, false},
                   {"spearman", "Spearman(log p, log R)", false, {0.5}, false}};
  study.make_probe = [eval](const gfn::DiscreteEnv& e) {
    return gflownet::discovery_probe(e, eval, {"modes_found", "spearman"});
  };
  study.claims = {{"SubTB(λ) finds more modes than TB and DB", "SubTB(0.9)", {"TB", "DB"}, 0},
                  {"SubTB(λ) correlates log p with log R better than TB and DB", "SubTB(0.9)", {"TB", "DB"}, 1}};
  study.description =
      "Madan et al. (2023) also compare TB, DB and SubTB(λ) on the bit-sequence task of Malkin et al. (2022) and "
      "claim that SubTB(λ) finds more modes. Setting here: strings of n = 120 bits built k = 8 bits at a time, "
      "left to right (a tree: P_B = 1); 60 modes built from five 8-bit motifs; log R(x) = -d(x) with d the "
      "Hamming distance to the nearest mode. A mode counts as found once a sampled string is within Hamming "
      "distance " +
      std::to_string(threshold) +
      " of it (this study's choice: 28 in full mode, 34 in quick mode, where the samples are not yet closer). The "
      "Spearman correlation is between the exact log p(x) "
      "(one trajectory per string on a tree) and log R(x) over " +
      std::to_string(kTestVariants) +
      " mutated copies of every mode. Model and optimiser as on the hypergrids: 2 x 256 LeakyReLU trunk, "
      "on-policy batches of 16, Adam 1e-3 (log Z 0.1), λ = 0.9.\n\n" +
      mode_text(study, quick, "", "about 40 minutes");
  return study;
}

gflownet::Study setgen_study(ReproMode mode, std::optional<int> seeds) {
  const bool quick = mode == ReproMode::quick;
  gflownet::Study study;
  study.name = "setgen";
  study.title = "FL-GFN paper: forward-looking DB and SubTB against DB, TB and SubTB on set generation";
  study.steps = quick ? 400 : 10000;
  study.eval_every = quick ? 40 : 500;
  study.seeds = first_seeds(seeds.value_or(quick ? 2 : 3));

  // The paper's exploration: the policy mixed with uniform over valid actions, the weight
  // tuned per method (FL-DB 0.5, DB 1.0, TB 0.0625); the SubTB arms take FL-DB's.
  const gflownet::TrainerConfig base = paper_config(gflownet::BackwardPolicy::uniform);
  study.arms = {arm("DB", gflownet::Objective::db, base, 1.0), arm("FL-DB", gflownet::Objective::fldb, base, 0.5),
                arm("TB", gflownet::Objective::tb, base, 0.0625),
                arm("SubTB(0.9)", gflownet::Objective::subtb, base, 0.5),
                arm("FL-SubTB(0.9)", gflownet::Objective::flsubtb, base, 0.5)};
  for (const char* size : {"small", "medium", "large"}) {
    auto env = std::make_shared<gfn::SetGeneration>(gfn::set_generation_task(size));
    study.panels.push_back({std::string(size) + " (" + std::to_string(env->config().set_size) + " of " +
                                std::to_string(env->config().universe_size) + ")",
                            env});
  }
  study.metrics = {{"top_100_reward", "top-100 mean reward", false, {}, true}};
  study.make_probe = [](const gfn::DiscreteEnv& e) {
    gflownet::EvalOptions eval;
    eval.top_k = 100;
    return gflownet::discovery_probe(e, eval, {"top_k_reward"});
  };
  study.claims = {{"FL-DB finds higher-reward sets than DB and TB", "FL-DB", {"DB", "TB"}, 0},
                  {"FL-SubTB finds higher-reward sets than SubTB", "FL-SubTB(0.9)", {"SubTB(0.9)"}, 0}};
  study.description =
      "Pan et al. (2023), \"Better training of GFlowNets with local credit and incomplete trajectories\", "
      "claim that forward-looking (FL) detailed balance converges faster and finds higher-reward sets than DB "
      "and TB on set generation, the FL parameterisation log F(s) = log F~(s) + log R(s) giving every "
      "transition the reward's local credit. Setting here, as in the paper: sets of 20 of 30, 60 of 80 and 80 "
      "of 100 elements built one element a step, R(S) = exp(-sum of the energies of data/fl_set_energies.json), "
      "2 x 256 LeakyReLU trunk with P_F and log F heads, uniform P_B, batches of 16, Adam 1e-3 (log Z 0.1), "
      "exploration by mixing with uniform over valid actions (DB 1.0, FL-DB 0.5, TB 0.0625, both SubTB arms "
      "0.5). The metric is the paper's: the mean reward of the 100 best unique sets sampled so far.\n\n" +
      mode_text(study, quick, " (the paper: 10,000 steps)", "about two and a half hours");
  return study;
}

}  // namespace subtb::cli
