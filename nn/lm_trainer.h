#pragma once
// Next-token training of a causal LM on a token stream: each step draws `batch` random
// windows of seq_len + 1 tokens, takes the mean cross-entropy of predicting tokens
// 1..seq_len from the ones before, clips the gradient norm and takes an AdamW step under
// a warmup-cosine learning-rate schedule. The window draws come from the trainer's own
// generator, which checkpoints save, so a resumed run draws what an unbroken one would.
#include <cstdint>
#include <string>
#include <vector>

#include "nn/causal_lm.h"
#include "nn/checkpoint.h"
#include "nn/lr_schedule.h"
#include "nn/optim_adam.h"
#include "tensor/ops/random.h"

namespace subtb::nn {

struct LMTrainingConfig {
  int64_t batch = 16;
  int64_t seq_len = 128;  // at most the model's max_seq_len
  int64_t steps = 1000;   // the schedule's length
  int64_t warmup = 50;
  double lr = 3e-3;
  double min_lr_factor = 0.1;  // the schedule ends at lr * min_lr_factor
  double weight_decay = 0.1;   // AdamW's, on matrices only (not norms)
  double grad_clip = 1.0;      // max gradient norm; 0: no clipping
  uint64_t seed = 0;           // the window draws
};

class LMTrainer {
 public:
  // The streams must each hold more than seq_len tokens (val may be empty: no evaluation).
  LMTrainer(CausalLM& model, std::vector<int64_t> train_tokens, std::vector<int64_t> val_tokens,
            const LMTrainingConfig& config);

  // One update; returns its loss (mean over the batch's tokens, before the update).
  double step();
  // Mean loss over up to `batches` batches of windows spread evenly over the validation
  // stream, without grad and in eval mode: the same windows every time.
  double evaluate(int64_t batches = 4);

  int64_t steps_done() const { return steps_done_; }
  int64_t tokens_per_step() const { return config_.batch * config_.seq_len; }
  const LMTrainingConfig& config() const { return config_; }
  double current_lr() const;

  // The model, the optimizer, the window generator and the step, in one safetensors file
  // (nn/checkpoint.h) with `config_json` saved alongside.
  void save_checkpoint(const std::string& path, const std::string& config_json);
  CheckpointInfo load_checkpoint(const std::string& path);

 private:
  // inputs, targets: [batch, seq_len] i64 windows starting at `starts`.
  std::pair<Tensor, Tensor> windows(const std::vector<int64_t>& stream, const std::vector<int64_t>& starts) const;

  CausalLM& model_;
  std::vector<int64_t> train_, val_;
  LMTrainingConfig config_;
  AdamW optimizer_;
  std::vector<Tensor> trainable_;  // the optimizer's parameters, for clipping
  LrSchedule schedule_;
  Generator gen_;
  int64_t steps_done_ = 0;
};

}  // namespace subtb::nn
