// Next-token training: the loss falls, evaluation is repeatable, and a run resumed from a
// checkpoint continues bit for bit; the positions and mask bookkeeping of the KV cache.
#include "nn/lm_trainer.h"
#include "tests/nn/temp_dir.h"
#include "tests/nn/tiny_lm.h"
#include "tests/support/test_util.h"

namespace subtb {
namespace {

using testing::tiny_lm_config;

// A stream with structure to learn: token t + 1 follows token t (mod 17).
std::vector<int64_t> counting_stream(int64_t n) {
  std::vector<int64_t> s(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) s[i] = i % 17;
  return s;
}

nn::LMTrainingConfig small_run() {
  nn::LMTrainingConfig c;
  c.batch = 4;
  c.seq_len = 8;
  c.steps = 40;
  c.warmup = 4;
  c.lr = 1e-2;
  c.seed = 3;
  return c;
}

class LMTrainerTest : public testing::TempDirTest {};

TEST_F(LMTrainerTest, LearnsAndResumesBitForBit) {
  Generator init(1);
  nn::CausalLM lm(tiny_lm_config(), {DType::f32, kCPU, &init});
  nn::LMTrainer trainer(lm, counting_stream(500), counting_stream(100), small_run());
  const double before = trainer.evaluate(2);
  EXPECT_EQ(trainer.evaluate(2), before);  // the same windows every time
  for (int i = 0; i < 20; ++i) trainer.step();
  trainer.save_checkpoint(path("step-20.safetensors"), "{\"run\": 1}");
  std::vector<double> continued;
  for (int i = 0; i < 5; ++i) continued.push_back(trainer.step());
  EXPECT_LT(trainer.evaluate(2), 0.5 * before);

  Generator other(9);
  nn::CausalLM lm2(tiny_lm_config(), {DType::f32, kCPU, &other});
  nn::LMTrainer resumed(lm2, counting_stream(500), counting_stream(100), small_run());
  const nn::CheckpointInfo info = resumed.load_checkpoint(path("step-20.safetensors"));
  EXPECT_EQ(info.step, 20);
  EXPECT_EQ(resumed.steps_done(), 20);
  std::vector<double> again;
  for (int i = 0; i < 5; ++i) again.push_back(resumed.step());
  EXPECT_EQ(again, continued);
}

TEST(LMTrainer, RejectsBadStreamsAndConfigs) {
  nn::CausalLM lm(tiny_lm_config());
  EXPECT_THROW_MSG(nn::LMTrainer(lm, counting_stream(8), {}, small_run()), "too few");
  EXPECT_THROW_MSG(nn::LMTrainer(lm, {1, 2, 3, 4, 5, 6, 7, 8, 9, 17}, {}, small_run()), "token 17");
  nn::LMTrainingConfig c = small_run();
  c.seq_len = 33;
  EXPECT_THROW_MSG(nn::LMTrainer(lm, counting_stream(100), {}, c), "seq_len 33", "max_seq_len 32");
}

TEST(KVCache, PositionsCountRealTokensAndMasksGrow) {
  const Tensor valid = from_vector<bool>({false, true, true, true, true, true}, Shape{2, 3});
  EXPECT_EQ(nn::token_positions(valid, 2, 3).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 0, 1, 2}));
  EXPECT_EQ(nn::token_positions(Tensor(), 1, 3, {5}).to_vector<int64_t>(), (std::vector<int64_t>{5, 6, 7}));

  nn::KVCache cache(1, 2, 1, 4, 2);
  EXPECT_EQ(cache.positions_for(valid, 3).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 0, 1, 2}));
  EXPECT_EQ(cache.extend_mask(valid, 3).to_vector<bool>(), valid.to_vector<bool>());
  cache.advance(3);
  EXPECT_EQ(cache.positions_for(Tensor(), 1).to_vector<int64_t>(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(cache.extend_mask(Tensor(), 1).shape(), (Shape{2, 4}));
  cache.advance(1);
  EXPECT_THROW_MSG(cache.extend_mask(Tensor(), 1), "do not fit", "4 of 4");
  cache.reset();
  EXPECT_EQ(cache.length(), 0);
  EXPECT_THROW_MSG(cache.append(0, zeros(Shape{2, 1, 1, 3}), zeros(Shape{2, 1, 1, 3})), "do not fit the cache");
}

}  // namespace
}  // namespace subtb
