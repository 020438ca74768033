#pragma once
// Supervised fine-tuning of the VLM on (image, prompt, answer) examples, the folders that
// `subtb env sft` writes (envs/vlm/README.md). Every example becomes one sequence in the
// template the model is trained and prompted with:
//
//   <bos> <image> "\n" prompt "\n" | answer <eos>
//
// (the <image> marker expanded to the model's P placeholders), and the loss is the mean
// negative log-likelihood of the answer tokens, <eos> included, given everything before
// them. Each step draws a batch of examples at random (with replacement) from the
// trainer's own generator, which checkpoints save, so a resumed run draws what an unbroken
// one would.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "nn/checkpoint.h"
#include "nn/lr_schedule.h"
#include "nn/optim_adam.h"
#include "nn/tokenizer/tokenizer.h"
#include "nn/vision/vlm.h"
#include "tensor/ops/random.h"

namespace subtb::nn {

struct SftExample {
  std::string id;
  std::filesystem::path image;  // absolute, or relative to the working directory
  std::string prompt, answer;
};

// The examples of index.jsonl in `dir`, in file order. Throws naming the file and line of
// a malformed entry, or a folder that is not an SFT dataset.
std::vector<SftExample> read_sft_examples(const std::filesystem::path& dir);

// The prompt part of the template, placeholders expanded: <bos> <image>... "\n" prompt "\n".
std::vector<int64_t> vlm_prompt_tokens(const Tokenizer& tokenizer, const VisionLanguageModel& model,
                                       std::string_view prompt);
// The answer part: answer <eos>.
std::vector<int64_t> vlm_answer_tokens(const Tokenizer& tokenizer, std::string_view answer);

struct VlmSftConfig {
  int64_t batch = 8;
  int64_t steps = 1000;  // the schedule's length
  int64_t warmup = 20;
  double lr = 1e-3;
  double min_lr_factor = 0.1;  // the schedule ends at lr * min_lr_factor
  double weight_decay = 0.0;   // AdamW's
  double grad_clip = 1.0;      // max gradient norm; 0: no clipping
  uint64_t seed = 0;           // the batch draws
};

class VlmSftTrainer {
 public:
  // Decodes and preprocesses every example's image once, up front. Throws when an
  // example does not fit in the LM's max_seq_len or the tokenizer's ids do not fit
  // the model's vocabulary.
  VlmSftTrainer(VisionLanguageModel& model, const Tokenizer& tokenizer, const std::vector<SftExample>& examples,
                const VlmSftConfig& config);

  // One update; returns its loss (before the update).
  double step();
  // The mean answer-token loss over every example, in batches, without grad and in eval
  // mode.
  double evaluate();

  int64_t steps_done() const { return steps_done_; }
  double current_lr() const;
  const VlmSftConfig& config() const { return config_; }
  int64_t examples() const { return static_cast<int64_t>(sequences_.size()); }

  // The model, the optimizer, the batch generator and the step (nn/checkpoint.h).
  void save_checkpoint(const std::string& path, const std::string& config_json);
  CheckpointInfo load_checkpoint(const std::string& path);

 private:
  struct Sequence {
    std::vector<int64_t> tokens;
    size_t answer_start;
  };
  // The summed answer log-likelihood of examples `rows` and their answer-token count.
  std::pair<Tensor, int64_t> answer_log_likelihood(const std::vector<int64_t>& rows);

  VisionLanguageModel& model_;
  VlmSftConfig config_;
  std::vector<Sequence> sequences_;
  Tensor images_;  // [N, 3, S, S], preprocessed
  AdamW optimizer_;
  LrSchedule schedule_;
  Generator gen_;
  int64_t steps_done_ = 0;
};

}  // namespace subtb::nn
