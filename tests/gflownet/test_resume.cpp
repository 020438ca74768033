// Checkpoints and resuming a training run: a run stopped and resumed from its run folder
// writes the same metrics and ends with the same parameters, bit for bit, as one never
// stopped; a missing or corrupt checkpoint is an error naming it; a failed write leaves
// the previous checkpoint usable.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "envs/gfn/hypergrid.h"
#include "gflownet/trainer.h"
#include "gflownet/training_run.h"
#include "nn/atomic_file.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet {
namespace {

namespace fs = std::filesystem;
using gfn::HyperGrid;

struct ResumeCase {
  Objective objective;
  BackwardPolicy backward;
  bool replay = false;  // a reward-prioritised buffer feeding replayed and backward trajectories
};

TrainerConfig tiny_config(const ResumeCase& c) {
  TrainerConfig config;
  config.objective = c.objective;
  config.backward = c.backward;
  config.hidden = 16;
  config.layers = 2;
  config.batch = 8;
  config.sampling.epsilon = 0.1;
  config.seed = 5;
  if (c.replay) config.replay = {20, 0.25, 0.25, ReplayPriority::reward};
  return config;
}

// What a run leaves behind: its evaluations, metrics.jsonl without the wall-clock times,
// and the final parameters.
struct RunResult {
  std::vector<EvalRecord> records;
  std::vector<nlohmann::json> metrics_lines;
  std::map<std::string, std::vector<float>> params;
};

std::vector<nlohmann::json> metrics_without_seconds(const fs::path& run_folder) {
  std::ifstream file(run_folder / "metrics.jsonl");
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(file, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    j.erase("seconds");
    lines.push_back(std::move(j));
  }
  return lines;
}

// Trains (or resumes) a run up to `steps` in `run_folder`, evaluating every 4 steps and
// checkpointing every 3, so that checkpoints fall inside evaluation windows too.
RunResult train(const ResumeCase& c, const fs::path& run_folder, int64_t steps, bool resume) {
  const HyperGrid env({2, 5, 0.1});
  Trainer trainer(env, tiny_config(c));
  RunOptions options;
  options.steps = steps;
  options.eval_every = 4;
  options.checkpoint_every = 3;
  options.out = run_folder;
  options.config_json = R"({"env": "hypergrid", "note": "resume test"})";
  options.resume = resume;
  RunResult result;
  result.records = run_training(env, trainer, options);
  result.metrics_lines = metrics_without_seconds(run_folder);
  for (const auto& [name, tensor] : trainer.policy().state_dict()) result.params[name] = tensor.to_vector<float>();
  return result;
}

void expect_same_run(const RunResult& resumed, const RunResult& uninterrupted) {
  ASSERT_EQ(resumed.records.size(), uninterrupted.records.size());
  for (size_t i = 0; i < resumed.records.size(); ++i) {
    const EvalRecord &a = resumed.records[i], &b = uninterrupted.records[i];
    SCOPED_TRACE("evaluation at step " + std::to_string(b.step));
    EXPECT_EQ(a.step, b.step);
    EXPECT_EQ(a.loss, b.loss);
    EXPECT_EQ(a.metrics.l1, b.metrics.l1);
    EXPECT_EQ(a.metrics.empirical_l1, b.metrics.empirical_l1);
    EXPECT_EQ(a.metrics.samples, b.metrics.samples);
    EXPECT_EQ(a.metrics.log_z, b.metrics.log_z);
  }
  EXPECT_EQ(resumed.metrics_lines, uninterrupted.metrics_lines);
  EXPECT_EQ(resumed.params, uninterrupted.params);
}

std::vector<std::string> checkpoint_names(const fs::path& run_folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(run_folder / "checkpoints")) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Each test's run folders, under a fresh temporary directory.
class RunFolders : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');
    root_ = fs::temp_directory_path() / ("subtb_" + name + "_" + std::to_string(getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
};

class Resume : public RunFolders, public ::testing::WithParamInterface<ResumeCase> {};

TEST_P(Resume, FromTheLastCheckpointMatchesAnUninterruptedRun) {
  const RunResult uninterrupted = train(GetParam(), root_ / "whole", 12, false);
  ASSERT_EQ(uninterrupted.records.size(), 3u);
  EXPECT_EQ(checkpoint_names(root_ / "whole"), (std::vector<std::string>{"step-12.safetensors", "step-9.safetensors"}));

  train(GetParam(), root_ / "split", 8, false);  // ends with an evaluation and a checkpoint at step 8
  expect_same_run(train(GetParam(), root_ / "split", 12, true), uninterrupted);
}

// A run killed at step 11 leaves its checkpoint at step 9, inside the window of the
// evaluation at 12, and metrics.jsonl up to step 8 with, here, half the record of step 12
// (as if the kill came while writing it).
TEST_P(Resume, FromAMidWindowCheckpointAfterAKillMatchesAnUninterruptedRun) {
  const RunResult uninterrupted = train(GetParam(), root_ / "whole", 12, false);

  train(GetParam(), root_ / "killed", 12, false);
  fs::remove(root_ / "killed" / "checkpoints" / "step-12.safetensors");
  const fs::path metrics = root_ / "killed" / "metrics.jsonl";
  std::stringstream text;
  text << std::ifstream(metrics).rdbuf();
  const std::string whole = text.str();
  const size_t last_line = whole.rfind('\n', whole.size() - 2) + 1;
  std::ofstream(metrics, std::ios::trunc) << whole.substr(0, last_line + (whole.size() - last_line) / 2);
  EXPECT_EQ(last_checkpoint(root_ / "killed").filename(), "step-9.safetensors");
  expect_same_run(train(GetParam(), root_ / "killed", 12, true), uninterrupted);
}

TEST_P(Resume, AfterAFailedCheckpointWriteUsesThePreviousCheckpoint) {
  const RunResult uninterrupted = train(GetParam(), root_ / "whole", 12, false);

  train(GetParam(), root_ / "split", 8, false);
  const fs::path last = last_checkpoint(root_ / "split");
  EXPECT_THROW(nn::write_file_atomically(last.string(),
                                         [](nn::FileSink& sink) {
                                           sink.write("partial", 7);
                                           throw std::runtime_error("killed mid-write");
                                         }),
               std::runtime_error);
  expect_same_run(train(GetParam(), root_ / "split", 12, true), uninterrupted);
}

INSTANTIATE_TEST_SUITE_P(Objectives, Resume,
                         ::testing::Values(ResumeCase{Objective::tb, BackwardPolicy::uniform},
                                           ResumeCase{Objective::subtb, BackwardPolicy::learned},
                                           ResumeCase{Objective::fldb, BackwardPolicy::learned, true}),
                         [](const auto& info) {
                           return std::string(to_string(info.param.objective)) + "_" +
                                  std::string(to_string(info.param.backward)) + (info.param.replay ? "_replay" : "");
                         });

using ResumeErrors = RunFolders;

TEST_F(ResumeErrors, WithoutACheckpointNamesTheFolder) {
  const ResumeCase tb{Objective::tb, BackwardPolicy::uniform};
  const std::string folder = (root_ / "empty" / "checkpoints").string();
  EXPECT_THROW_MSG(train(tb, root_ / "empty", 12, true), folder, "holds no checkpoint");
  EXPECT_THROW_MSG(saved_config(root_ / "empty"), folder, "holds no checkpoint");
}

TEST_F(ResumeErrors, FromACorruptCheckpointNamesTheFile) {
  const ResumeCase tb{Objective::tb, BackwardPolicy::uniform};
  train(tb, root_ / "run", 8, false);
  const fs::path last = last_checkpoint(root_ / "run");
  std::ofstream(last, std::ios::trunc) << "not a checkpoint";
  EXPECT_THROW_MSG(train(tb, root_ / "run", 12, true), last.string());
  EXPECT_THROW_MSG(saved_config(root_ / "run"), last.string());
}

TEST_F(ResumeErrors, ForAnotherModelNamesTheFile) {
  const ResumeCase tb{Objective::tb, BackwardPolicy::uniform};
  train(tb, root_ / "run", 8, false);
  const HyperGrid env({2, 5, 0.1});
  TrainerConfig wider = tiny_config(tb);
  wider.hidden = 32;
  Trainer trainer(env, wider);
  const fs::path last = last_checkpoint(root_ / "run");
  EXPECT_THROW_MSG(trainer.load_checkpoint(last.string()), last.string());
  EXPECT_EQ(trainer.steps_done(), 0);
}

// HyperGrid with R0 = 0 gives most states reward 0, so most batches have an infinite loss.
TEST(SkipNonfinite, SkipsTheBatchWithoutTouchingTheParameters) {
  const HyperGrid env({2, 5, 0.0});
  TrainerConfig config = tiny_config({Objective::tb, BackwardPolicy::uniform});
  EXPECT_THROW_MSG(Trainer(env, config).step(), "training step 1", "not finite");

  config.skip_nonfinite = true;
  Trainer trainer(env, config);
  std::map<std::string, std::vector<float>> before;
  for (const auto& [name, tensor] : trainer.policy().state_dict()) before[name] = tensor.to_vector<float>();
  EXPECT_FALSE(std::isfinite(trainer.step()));
  EXPECT_EQ(trainer.steps_done(), 1);
  for (const auto& [name, tensor] : trainer.policy().state_dict()) {
    EXPECT_EQ(tensor.to_vector<float>(), before[name]) << name;
  }
}

TEST_F(RunFolders, SkippedStepsAreCountedAndSurviveAResume) {
  const HyperGrid env({2, 5, 0.0});
  TrainerConfig config = tiny_config({Objective::tb, BackwardPolicy::uniform});
  config.skip_nonfinite = true;
  const auto run = [&](const fs::path& folder, int64_t steps, bool resume) {
    Trainer trainer(env, config);
    RunOptions options;
    options.steps = steps;
    options.eval_every = 4;
    options.out = folder;
    options.resume = resume;
    return run_training(env, trainer, options);
  };
  const std::vector<EvalRecord> whole = run(root_ / "whole", 8, false);
  ASSERT_EQ(whole.size(), 2u);
  EXPECT_GT(whole[0].skipped, 0);
  EXPECT_LE(whole[0].skipped, 4);
  EXPECT_GT(whole[1].skipped, whole[0].skipped);
  EXPECT_EQ(metrics_without_seconds(root_ / "whole").back().at("skipped"), whole[1].skipped);

  run(root_ / "split", 4, false);
  const std::vector<EvalRecord> resumed = run(root_ / "split", 8, true);
  ASSERT_EQ(resumed.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(resumed[i].skipped, whole[i].skipped);
    const double a = resumed[i].loss, b = whole[i].loss;  // NaN when every step was skipped
    EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << a << " vs " << b;
  }
}

TEST_F(ResumeErrors, WithNoStepsLeftNamesTheCheckpointStep) {
  const ResumeCase tb{Objective::tb, BackwardPolicy::uniform};
  train(tb, root_ / "run", 8, false);
  EXPECT_THROW_MSG(train(tb, root_ / "run", 8, true), "step-8.safetensors", "is at step 8");
}

}  // namespace
}  // namespace subtb::gflownet
