// The vision-language model's two loops on the CPU: a supervised fine-tuning step
// (encode the images, forward the image + prompt + answer sequences, the mean negative
// log-likelihood of the answer tokens, backward, gradient clipping, AdamW), as
// nn::VlmSftTrainer takes it, and greedy generation with the KV cache from image +
// prompt. Items are tokens: sequence tokens per training step (image placeholders
// included), new tokens per generation call. bench/peers/vlm.py runs the same models in
// PyTorch under the same names.
//
//   tiny:  ViT 64 x 64 / 8 (64 image tokens), dim 64, 2 layers; LM tiny (dim 128, 4 layers)
//          train: 8 sequences of 96 tokens (1 bos + 64 image + 15 prompt + 16 answer)
//          generate: 4 prompts of 80 tokens (1 bos + 64 image + 15 prompt), 32 new tokens each
//   small: ViT-S/16 at 224 (196 image tokens), dim 384, 12 layers; LM small (dim 256, 6 layers)
//          train: 4 sequences of 256 tokens (1 bos + 196 image + 27 prompt + 32 answer)
//          generate: 4 prompts of 224 tokens (1 bos + 196 image + 27 prompt), 32 new tokens each
// Vocabulary 1024, f32, random images and token ids (the cost does not depend on them).
#include "nn/vision/vlm.h"

#include <benchmark/benchmark.h>

#include <string>

#include "nn/clip_grad.h"
#include "nn/optim_adam.h"
#include "tensor/ops.h"

namespace subtb::nn {
namespace {

constexpr int64_t kVocab = 1024;
constexpr int64_t kBos = 1, kImageToken = 2, kFirstText = 3;
constexpr int64_t kGeneratePrompts = 4, kNewTokens = 32;

struct Workload {
  const char* preset;
  int64_t batch, prompt_len, answer_len;  // prompt_len counts the text after the image
};
constexpr Workload kWorkloads[] = {{"tiny", 8, 15, 16}, {"small", 4, 27, 32}};

VLMConfig config_of(const Workload& w) {
  VLMConfig c = vlm_preset(w.preset);
  c.language.vocab_size = kVocab;
  c.image_token_id = kImageToken;
  return c;
}

// bos, the image's placeholders, `text` random text tokens.
std::vector<int64_t> sequence(const VLMConfig& c, int64_t text, Generator& gen) {
  std::vector<int64_t> s{kBos};
  s.insert(s.end(), static_cast<size_t>(c.image_tokens()), kImageToken);
  const std::vector<int64_t> words =
      randint(kFirstText, kVocab, Shape{text}, DType::i64, kCPU, &gen).to_vector<int64_t>();
  s.insert(s.end(), words.begin(), words.end());
  return s;
}

Tensor random_images(const VLMConfig& c, int64_t batch, Generator& gen) {
  return randn({batch, c.vision.channels, c.vision.image_size, c.vision.image_size}, DType::f32, kCPU, &gen);
}

void vlm_train_step(benchmark::State& state, const Workload& w) {
  const VLMConfig c = config_of(w);
  Generator init(0), data(1);
  VisionLanguageModel model(c, {DType::f32, kCPU, &init});
  AdamW optimizer(model.parameters(), AdamOptions{.lr = 1e-3});
  // One batch, drawn once: image + prompt + answer, the loss on the answer tokens.
  const int64_t prefix = 1 + c.image_tokens() + w.prompt_len, t = prefix + w.answer_len;
  std::vector<int64_t> tokens;
  std::vector<uint8_t> answer;
  for (int64_t b = 0; b < w.batch; ++b) {
    const std::vector<int64_t> row = sequence(c, w.prompt_len + w.answer_len, data);
    tokens.insert(tokens.end(), row.begin(), row.end());
    for (int64_t i = 0; i < t; ++i) answer.push_back(i >= prefix);
  }
  const Shape shape{w.batch, t};
  const Tensor ids = from_vector(tokens, shape, kCPU);
  const Tensor mask = from_buffer(answer.data(), shape, DType::b8, kCPU);
  const Tensor images = random_images(c, w.batch, data);
  const double answer_tokens = static_cast<double>(w.batch * w.answer_len);
  auto step = [&] {
    const Tensor loss = neg(sum(model.continuation_log_probs(ids, images, mask))) / answer_tokens;
    optimizer.zero_grad();
    loss.backward();
    clip_grad_norm(model.parameters(), 1.0);
    optimizer.step();
    return loss.item();
  };
  step();  // first-touch allocations and the optimizer's state
  for (auto _ : state) benchmark::DoNotOptimize(step());
  state.SetItemsProcessed(state.iterations() * w.batch * t);
  int64_t parameters = 0;
  for (const Tensor& p : model.parameters()) parameters += p.numel();
  state.counters["parameters"] = static_cast<double>(parameters);
}

void vlm_generate(benchmark::State& state, const Workload& w) {
  const VLMConfig c = config_of(w);
  Generator init(0), data(1);
  VisionLanguageModel model(c, {DType::f32, kCPU, &init});
  std::vector<std::vector<int64_t>> prompts;
  for (int64_t p = 0; p < kGeneratePrompts; ++p) prompts.push_back(sequence(c, w.prompt_len, data));
  const Tensor images = random_images(c, kGeneratePrompts, data);
  GenerationConfig g;
  g.greedy = true;
  g.max_new_tokens = kNewTokens;
  int64_t generated = 0;
  for (auto _ : state) {
    for (const GeneratedRow& row : model.generate(prompts, images, g)) {
      generated += static_cast<int64_t>(row.tokens.size());
    }
  }
  state.SetItemsProcessed(generated);
}

// Named <loop>/<preset>, as the peer names its results (scripts/bench_compare.py pairs them).
const bool registered = [] {
  for (const Workload& w : kWorkloads) {
    benchmark::RegisterBenchmark((std::string("vlm_train_step/") + w.preset).c_str(), vlm_train_step, w)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("vlm_generate/") + w.preset).c_str(), vlm_generate, w)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
}  // namespace subtb::nn

BENCHMARK_MAIN();
