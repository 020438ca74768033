#include "nn/lm_trainer.h"

#include <limits>

#include "autograd/grad_mode.h"
#include "nn/clip_grad.h"
#include "nn/eval_mode.h"
#include "tensor/ops.h"

namespace subtb::nn {

namespace {

// Decay the matrices (projections, embeddings); leave the norms' gains alone, as is usual
// for transformers.
std::vector<ParamGroup> param_groups(const Module& model, double weight_decay) {
  ParamGroup decayed{}, plain{};
  for (const Tensor& p : model.parameters()) {
    if (!p.requires_grad()) continue;
    (p.dim() >= 2 ? decayed : plain).params.push_back(p);
  }
  decayed.weight_decay = weight_decay;
  plain.weight_decay = 0.0;
  std::vector<ParamGroup> groups;
  for (ParamGroup* g : {&decayed, &plain})
    if (!g->params.empty()) groups.push_back(std::move(*g));
  return groups;
}

const LMTrainingConfig& checked(const LMTrainingConfig& c, const CausalLM& model) {
  SUBTB_CHECK(c.batch > 0 && c.seq_len > 0 && c.steps > 0 && c.warmup >= 0,
              "LMTrainer: batch, seq_len and steps must be positive and warmup non-negative, got ", c.batch, ", ",
              c.seq_len, ", ", c.steps, " and ", c.warmup);
  SUBTB_CHECK(c.seq_len <= model.config().max_seq_len, "LMTrainer: seq_len ", c.seq_len,
              " exceeds the model's max_seq_len ", model.config().max_seq_len);
  SUBTB_CHECK(c.lr > 0 && c.weight_decay >= 0 && c.grad_clip >= 0 && c.min_lr_factor >= 0 && c.min_lr_factor <= 1,
              "LMTrainer: lr must be positive, weight_decay and grad_clip non-negative and min_lr_factor in [0, 1], "
              "got ",
              c.lr, ", ", c.weight_decay, ", ", c.grad_clip, " and ", c.min_lr_factor);
  return c;
}

}  // namespace

LMTrainer::LMTrainer(CausalLM& model, std::vector<int64_t> train_tokens, std::vector<int64_t> val_tokens,
                     const LMTrainingConfig& config)
    : model_(model),
      train_(std::move(train_tokens)),
      val_(std::move(val_tokens)),
      config_(checked(config, model)),
      optimizer_(param_groups(model, config.weight_decay), AdamOptions{.lr = config.lr, .beta2 = 0.95}),
      schedule_(warmup_cosine(config.warmup, config.steps, config.min_lr_factor)),
      gen_(config.seed) {
  for (const Optimizer::Group& g : optimizer_.groups())
    trainable_.insert(trainable_.end(), g.params.begin(), g.params.end());
  SUBTB_CHECK(static_cast<int64_t>(train_.size()) > config_.seq_len, "LMTrainer: the training stream holds ",
              train_.size(), " tokens, too few for windows of ", config_.seq_len + 1);
  SUBTB_CHECK(val_.empty() || static_cast<int64_t>(val_.size()) > config_.seq_len,
              "LMTrainer: the validation stream holds ", val_.size(), " tokens, too few for windows of ",
              config_.seq_len + 1);
  const int64_t vocab = model.config().vocab_size;
  for (const std::vector<int64_t>* s : {&train_, &val_})
    for (int64_t t : *s)
      SUBTB_CHECK(t >= 0 && t < vocab, "LMTrainer: token ", t, " is outside the model's vocabulary of ", vocab);
}

std::pair<Tensor, Tensor> LMTrainer::windows(const std::vector<int64_t>& stream,
                                             const std::vector<int64_t>& starts) const {
  const int64_t B = static_cast<int64_t>(starts.size()), T = config_.seq_len;
  std::vector<int64_t> inputs(static_cast<size_t>(B * T)), targets(inputs.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      inputs[b * T + t] = stream[starts[b] + t];
      targets[b * T + t] = stream[starts[b] + t + 1];
    }
  const Device device = model_.model->embed_tokens->weight.device();
  return {from_vector(inputs, Shape{B, T}, device), from_vector(targets, Shape{B, T}, device)};
}

double LMTrainer::current_lr() const { return config_.lr * schedule_(steps_done_); }

double LMTrainer::step() {
  const int64_t last_start = static_cast<int64_t>(train_.size()) - config_.seq_len - 1;
  const std::vector<int64_t> starts =
      randint(0, last_start + 1, Shape{config_.batch}, DType::i64, kCPU, &gen_).to_vector<int64_t>();
  const auto [inputs, targets] = windows(train_, starts);
  model_.train();
  optimizer_.zero_grad();
  const int64_t V = model_.config().vocab_size;
  const Tensor loss = cross_entropy(model_.forward(inputs).reshape(Shape{-1, V}), targets.reshape(Shape{-1}));
  loss.backward();
  if (config_.grad_clip > 0) clip_grad_norm(trainable_, config_.grad_clip);
  optimizer_.scale_lr(schedule_(steps_done_));
  optimizer_.step();
  ++steps_done_;
  return loss.item();
}

double LMTrainer::evaluate(int64_t batches) {
  if (val_.empty()) return std::numeric_limits<double>::quiet_NaN();
  NoGradGuard no_grad;
  EvalModeGuard eval_mode(model_);
  const int64_t span = static_cast<int64_t>(val_.size()) - config_.seq_len - 1;
  const int64_t n = batches * config_.batch;
  std::vector<int64_t> starts;
  for (int64_t i = 0; i < n; ++i) starts.push_back(n > 1 ? span * i / (n - 1) : 0);
  const int64_t V = model_.config().vocab_size;
  double total = 0;
  for (int64_t b = 0; b < batches; ++b) {
    const std::vector<int64_t> chunk(starts.begin() + b * config_.batch, starts.begin() + (b + 1) * config_.batch);
    const auto [inputs, targets] = windows(val_, chunk);
    total += cross_entropy(model_.forward(inputs).reshape(Shape{-1, V}), targets.reshape(Shape{-1})).item();
  }
  return total / static_cast<double>(batches);
}

void LMTrainer::save_checkpoint(const std::string& path, const std::string& config_json) {
  nn::save_checkpoint(path, TrainingState{model_, &optimizer_, {{"windows", &gen_}}}, steps_done_, config_json);
}

CheckpointInfo LMTrainer::load_checkpoint(const std::string& path) {
  const CheckpointInfo info = nn::load_checkpoint(path, TrainingState{model_, &optimizer_, {{"windows", &gen_}}});
  steps_done_ = info.step;
  return info;
}

}  // namespace subtb::nn
