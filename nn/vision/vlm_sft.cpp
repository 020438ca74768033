#include "nn/vision/vlm_sft.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "nn/clip_grad.h"
#include "nn/eval_mode.h"
#include "nn/tokenizer/special_tokens.h"
#include "nn/vision/image_file.h"
#include "tensor/ops.h"

namespace subtb::nn {

namespace {

namespace fs = std::filesystem;

std::vector<int64_t> widen(const std::vector<int32_t>& ids) { return {ids.begin(), ids.end()}; }

}  // namespace

std::vector<SftExample> read_sft_examples(const fs::path& dir) {
  const fs::path meta = dir / "dataset.json", index = dir / "index.jsonl";
  std::ifstream meta_in(meta);
  SUBTB_CHECK(meta_in.good(), "read_sft_examples: '", dir.string(), "' has no dataset.json: is it an SFT folder?");
  try {
    const nlohmann::json m = nlohmann::json::parse(meta_in);
    SUBTB_CHECK(m.at("format") == "subtb-vlm-sft", "read_sft_examples: '", meta.string(), "' has format ",
                m.at("format").dump(), ", expected \"subtb-vlm-sft\"");
  } catch (const nlohmann::json::exception& e) {
    SUBTB_THROW("read_sft_examples: '", meta.string(), "': ", e.what());
  }
  std::ifstream in(index);
  SUBTB_CHECK(in.good(), "read_sft_examples: cannot read '", index.string(), "'");
  std::vector<SftExample> out;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      out.push_back({j.at("id").get<std::string>(), dir / j.at("image").get<std::string>(),
                     j.at("prompt").get<std::string>(), j.at("answer").get<std::string>()});
    } catch (const nlohmann::json::exception& e) {
      SUBTB_THROW("read_sft_examples: '", index.string(), "' line ", number, ": ", e.what());
    }
  }
  SUBTB_CHECK(!out.empty(), "read_sft_examples: '", index.string(), "' holds no examples");
  return out;
}

std::vector<int64_t> vlm_prompt_tokens(const Tokenizer& tokenizer, const VisionLanguageModel& model,
                                       std::string_view prompt) {
  std::vector<int32_t> ids{kBosToken, kImageToken};
  tokenizer.encode_append("\n", ids);
  tokenizer.encode_append(prompt, ids);
  tokenizer.encode_append("\n", ids);
  return model.expand_image_tokens(widen(ids));
}

std::vector<int64_t> vlm_answer_tokens(const Tokenizer& tokenizer, std::string_view answer) {
  std::vector<int64_t> ids = widen(tokenizer.encode(answer));
  ids.push_back(kEosToken);
  return ids;
}

VlmSftTrainer::VlmSftTrainer(VisionLanguageModel& model, const Tokenizer& tokenizer,
                             const std::vector<SftExample>& examples, const VlmSftConfig& config)
    : model_(model),
      config_(config),
      optimizer_(model.parameters(), AdamOptions{.lr = config.lr, .weight_decay = config.weight_decay}),
      schedule_(warmup_cosine(config.warmup, config.steps, config.min_lr_factor)),
      gen_(config.seed) {
  const VLMConfig& mc = model.config();
  SUBTB_CHECK(!examples.empty(), "VlmSftTrainer: no examples");
  SUBTB_CHECK(config.batch > 0 && config.steps > 0, "VlmSftTrainer: batch ", config.batch, " and steps ", config.steps,
              " must be positive");
  SUBTB_CHECK(tokenizer.vocab_size() <= mc.language.vocab_size, "VlmSftTrainer: the tokenizer's ",
              tokenizer.vocab_size(), " tokens do not fit the model's vocabulary of ", mc.language.vocab_size);
  SUBTB_CHECK(mc.image_token_id == kImageToken, "VlmSftTrainer: the model's image_token_id ", mc.image_token_id,
              " is not the tokenizer's <image> (", kImageToken, ")");
  std::vector<OwnedImage> decoded;
  for (const SftExample& e : examples) {
    Sequence s{vlm_prompt_tokens(tokenizer, model, e.prompt), 0};
    s.answer_start = s.tokens.size();
    const std::vector<int64_t> answer = vlm_answer_tokens(tokenizer, e.answer);
    s.tokens.insert(s.tokens.end(), answer.begin(), answer.end());
    SUBTB_CHECK(static_cast<int64_t>(s.tokens.size()) <= mc.language.max_seq_len, "VlmSftTrainer: example '", e.id,
                "' takes ", s.tokens.size(), " tokens, beyond the LM's max_seq_len ", mc.language.max_seq_len);
    sequences_.push_back(std::move(s));
    decoded.push_back(read_image(e.image));
  }
  std::vector<RgbImage> views;
  for (const OwnedImage& image : decoded) views.push_back(image.view());
  images_ = model.preprocess(views);
}

double VlmSftTrainer::current_lr() const { return config_.lr * schedule_(steps_done_); }

std::pair<Tensor, int64_t> VlmSftTrainer::answer_log_likelihood(const std::vector<int64_t>& rows) {
  const int64_t b = static_cast<int64_t>(rows.size());
  size_t t = 0;
  for (int64_t r : rows) t = std::max(t, sequences_[static_cast<size_t>(r)].tokens.size());
  // Right padding: a padded row computes what it would alone.
  std::vector<int64_t> tokens(static_cast<size_t>(b) * t, kPadToken);
  std::vector<uint8_t> valid(tokens.size(), 0), answer(tokens.size(), 0);
  int64_t count = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Sequence& s = sequences_[static_cast<size_t>(rows[i])];
    std::copy(s.tokens.begin(), s.tokens.end(), tokens.begin() + static_cast<std::ptrdiff_t>(i * t));
    std::fill_n(valid.begin() + static_cast<std::ptrdiff_t>(i * t), s.tokens.size(), 1);
    std::fill_n(answer.begin() + static_cast<std::ptrdiff_t>(i * t + s.answer_start), s.tokens.size() - s.answer_start,
                1);
    count += static_cast<int64_t>(s.tokens.size() - s.answer_start);
  }
  const Device device = images_.device();
  const Shape shape{b, static_cast<int64_t>(t)};
  const Tensor images = index_select(images_, 0, from_vector(rows, {b}, device));
  const Tensor log_probs = model_.continuation_log_probs(from_vector(tokens, shape, device), images,
                                                         from_buffer(answer.data(), shape, DType::b8, device),
                                                         from_buffer(valid.data(), shape, DType::b8, device));
  return {sum(log_probs), count};
}

double VlmSftTrainer::step() {
  model_.train();
  optimizer_.scale_lr(schedule_(steps_done_));
  const Tensor draws = randint(0, examples(), {config_.batch}, DType::i64, kCPU, &gen_);
  const auto [log_likelihood, count] = answer_log_likelihood(draws.to_vector<int64_t>());
  const Tensor loss = neg(log_likelihood) / static_cast<double>(count);
  optimizer_.zero_grad();
  loss.backward();
  if (config_.grad_clip > 0) clip_grad_norm(model_.parameters(), config_.grad_clip);
  optimizer_.step();
  ++steps_done_;
  return loss.item();
}

double VlmSftTrainer::evaluate() {
  EvalModeGuard eval_mode(model_);
  NoGradGuard no_grad;
  double total = 0.0;
  int64_t count = 0;
  for (int64_t first = 0; first < examples(); first += config_.batch) {
    std::vector<int64_t> rows;
    for (int64_t r = first; r < std::min(first + config_.batch, examples()); ++r) rows.push_back(r);
    const auto [log_likelihood, n] = answer_log_likelihood(rows);
    total -= log_likelihood.item();
    count += n;
  }
  return total / static_cast<double>(count);
}

void VlmSftTrainer::save_checkpoint(const std::string& path, const std::string& config_json) {
  nn::save_checkpoint(path, {model_, &optimizer_, {{"batches", &gen_}}}, steps_done_, config_json);
}

CheckpointInfo VlmSftTrainer::load_checkpoint(const std::string& path) {
  const CheckpointInfo info = nn::load_checkpoint(path, {model_, &optimizer_, {{"batches", &gen_}}});
  steps_done_ = info.step;
  return info;
}

}  // namespace subtb::nn
