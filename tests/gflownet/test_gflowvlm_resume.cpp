// GflowVlmTrainer checkpoints: an iteration, a checkpoint, a fresh model and trainer that
// load it and another iteration give the parameters and metrics of two iterations straight,
// bit for bit; a checkpoint of another loop config is refused naming the field. And the
// iteration's time by phase and the environment-step count.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gflownet/vlm/vlm_trainer.h"
#include "nn/checkpoint.h"
#include "nn/tokenizer/special_tokens.h"
#include "tensor/ops.h"
#include "tests/gflownet/vlm_micro_model.h"
#include "tests/support/test_util.h"

namespace subtb::gflownet::vlm {
namespace {

using testing::micro_config;
using testing::micro_tokenizer;

namespace fs = std::filesystem;

GflowVlmConfig loop_config(Method method, bool off_policy) {
  GflowVlmConfig c = testing::micro_loop_config(method);
  c.iterations = 3;
  c.warmup = 1;
  c.off_policy = off_policy;
  c.replay = 1;
  c.seed = 5;
  return c;
}

std::vector<float> flat_parameters(const nn::Module& model) {
  std::vector<float> out;
  for (const Tensor& p : model.parameters()) {
    const std::vector<float> v = p.contiguous().to_vector<float>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// Every field but the timings, which are the wall clock's.
nlohmann::json without_time(const IterationMetrics& m) {
  nlohmann::json j = to_json(m);
  j.erase("time");
  return j;
}

struct ResumeCase {
  Method method;
  bool off_policy;
};

class GflowVlmResume : public ::testing::TestWithParam<ResumeCase> {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    std::replace(name.begin(), name.end(), '/', '_');
    root_ = fs::temp_directory_path() / ("subtb_" + name + "_" + std::to_string(getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path root_;
};

TEST_P(GflowVlmResume, MatchesAnUninterruptedRunBitForBit) {
  const auto [method, off_policy] = GetParam();
  const GflowVlmConfig config = loop_config(method, off_policy);
  const nn::Tokenizer& tok = micro_tokenizer();

  manual_seed(11);
  nn::VisionLanguageModel straight_model(micro_config());
  std::vector<nn::StateDict::value_type> initial;
  for (const auto& [name, t] : straight_model.state_dict()) initial.emplace_back(name, t.clone());
  manual_seed(99);  // PPO's value head starts from the default generator
  GflowVlmTrainer straight(straight_model, tok, config);
  std::vector<nlohmann::json> straight_metrics;
  for (int i = 0; i < 2; ++i) straight_metrics.push_back(without_time(straight.step()));

  // The same start, stopped after one iteration.
  manual_seed(12);
  nn::VisionLanguageModel first_model(micro_config());
  first_model.load_state_dict(nn::StateDict(initial.begin(), initial.end()));
  manual_seed(99);
  GflowVlmTrainer first(first_model, tok, config);
  EXPECT_EQ(without_time(first.step()), straight_metrics[0]);
  if (off_policy) {
    EXPECT_GT(first.buffer().size(), 0);
  }
  const std::string path = (root_ / "step-1.safetensors").string();
  first.save_checkpoint(path, R"({"run": "test"})");

  // A fresh model and trainer (other weights, value head) continue from the checkpoint.
  manual_seed(13);
  nn::VisionLanguageModel resumed_model(micro_config());
  GflowVlmTrainer resumed(resumed_model, tok, config);
  const nn::CheckpointInfo info = resumed.load_checkpoint(path);
  EXPECT_EQ(info.step, 1);
  EXPECT_EQ(nlohmann::json::parse(info.config), (nlohmann::json{{"run", "test"}}));
  EXPECT_EQ(resumed.iterations_done(), 1);
  EXPECT_EQ(resumed.buffer().to_json(), first.buffer().to_json());
  EXPECT_EQ(without_time(resumed.step()), straight_metrics[1]);
  EXPECT_EQ(flat_parameters(resumed_model), flat_parameters(straight_model));
  EXPECT_EQ(resumed.buffer().to_json(), straight.buffer().to_json());
  // The trainer's extra modules stay out of the model's entries: the weights alone load.
  nn::VisionLanguageModel weights_only(micro_config());
  EXPECT_EQ(nn::load_checkpoint(path, nn::TrainingState{weights_only}).step, 1);
  EXPECT_EQ(flat_parameters(weights_only), flat_parameters(first_model));
}

INSTANTIATE_TEST_SUITE_P(Methods, GflowVlmResume,
                         ::testing::Values(ResumeCase{Method::var_tb, true}, ResumeCase{Method::ppo, false},
                                           ResumeCase{Method::tb, false}),
                         [](const auto& info) {
                           return std::string(to_string(info.param.method)) +
                                  (info.param.off_policy ? "_offpolicy" : "");
                         });

TEST_F(GflowVlmResume, RefusesAnotherLoopConfigNamingTheFieldAndChangesNothing) {
  const nn::Tokenizer& tok = micro_tokenizer();
  manual_seed(21);
  nn::VisionLanguageModel model(micro_config());
  GflowVlmTrainer trainer(model, tok, loop_config(Method::subtb, false));
  trainer.step();
  const std::string path = (root_ / "step-1.safetensors").string();
  trainer.save_checkpoint(path, "{}");

  GflowVlmConfig other = loop_config(Method::subtb, false);
  other.lr = 5e-3;
  nn::VisionLanguageModel fresh(micro_config());
  const std::vector<float> before = flat_parameters(fresh);
  GflowVlmTrainer refusing(fresh, tok, other);
  EXPECT_THROW_MSG(refusing.load_checkpoint(path), "step-1.safetensors", "saved with lr 0.01");
  EXPECT_EQ(refusing.iterations_done(), 0);
  EXPECT_EQ(flat_parameters(fresh), before);

  // A longer schedule is how a resumed run extends itself.
  GflowVlmConfig longer = loop_config(Method::subtb, false);
  longer.iterations = 10;
  GflowVlmTrainer extending(fresh, tok, longer);
  EXPECT_EQ(extending.load_checkpoint(path).step, 1);
  EXPECT_EQ(flat_parameters(fresh), flat_parameters(model));

  // A checkpoint of another trainer (no "trainer" entry) is no GflowVlmTrainer checkpoint.
  const std::string plain = (root_ / "plain.safetensors").string();
  nn::save_checkpoint(plain, nn::TrainingState{model}, 1);
  EXPECT_THROW_MSG(extending.load_checkpoint(plain), "plain.safetensors", "not a GflowVlmTrainer checkpoint");
}

TEST(GflowVlmTimes, PhasesAreTimedAndEnvironmentStepsAccumulate) {
  manual_seed(31);
  nn::VisionLanguageModel model(micro_config());
  for (Method method : {Method::var_tb, Method::sft, Method::ppo}) {
    GflowVlmTrainer trainer(model, micro_tokenizer(), loop_config(method, method == Method::var_tb));
    const IterationMetrics a = trainer.step(), b = trainer.step();
    for (const IterationMetrics* m : {&a, &b}) {
      const IterationTimes& t = m->time;
      if (method != Method::sft) {
        EXPECT_GT(t.generate, 0.0) << to_string(method);
      }
      EXPECT_GT(t.environment, 0.0);
      EXPECT_GT(t.score, 0.0);
      EXPECT_GT(t.backward, 0.0);
      EXPECT_GT(t.update, 0.0);
      EXPECT_LE(t.generate + t.environment + t.score + t.backward + t.update, t.total * (1 + 1e-9));
    }
    if (method == Method::sft) {
      EXPECT_EQ(a.time.generate, 0.0);
    }
    // Every episode takes at least one step (sft: the expert's), so the count grows.
    EXPECT_GT(a.env_steps, 0) << to_string(method);
    EXPECT_GT(b.env_steps, a.env_steps) << to_string(method);
    const nlohmann::json j = to_json(b);
    EXPECT_EQ(j.at("env_steps"), b.env_steps);
    for (const char* phase : {"generate", "environment", "score", "backward", "update", "total"})
      EXPECT_TRUE(j.at("time").at(phase).is_number()) << phase;
  }
}

}  // namespace
}  // namespace subtb::gflownet::vlm
