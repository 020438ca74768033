// The language model's two loops on the CPU: a training step (forward, cross-entropy,
// backward, gradient clipping, AdamW) exactly as `subtb lm train` takes it, and greedy
// generation with the KV cache. Items are tokens: trained tokens per step, generated
// tokens per call. bench/peers/lm.py runs the same models in PyTorch under the same names.
//
//   tiny:  dim 128, 4 layers, 4 heads (2 kv), SwiGLU 352, vocab 1024; batch 16 x 128 tokens
//   small: dim 256, 6 layers, 8 heads (4 kv), SwiGLU 704, vocab 1024; batch 8 x 256 tokens
// Generation: 4 prompts of 16 tokens, 64 new tokens each.
#include <benchmark/benchmark.h>

#include <string>

#include "nn/generation.h"
#include "nn/lm_trainer.h"
#include "tensor/ops.h"

namespace subtb::nn {
namespace {

constexpr int64_t kVocab = 1024;

struct Workload {
  const char* preset;
  int64_t batch, seq_len;
};
constexpr Workload kWorkloads[] = {{"tiny", 16, 128}, {"small", 8, 256}};

CausalLMConfig config_of(const Workload& w) {
  CausalLMConfig c = lm_preset(w.preset);
  c.vocab_size = kVocab;
  return c;
}

std::vector<int64_t> random_tokens(int64_t n, uint64_t seed) {
  Generator gen(seed);
  return randint(0, kVocab, Shape{n}, DType::i64, kCPU, &gen).to_vector<int64_t>();
}

void lm_train_step(benchmark::State& state, const Workload& w) {
  Generator init(0);
  CausalLM model(config_of(w), {DType::f32, kCPU, &init});
  LMTrainingConfig tc;
  tc.batch = w.batch;
  tc.seq_len = w.seq_len;
  tc.steps = 1'000'000;
  tc.warmup = 0;
  LMTrainer trainer(model, random_tokens(200'000, 1), {}, tc);
  trainer.step();  // first-touch allocations and the optimizer's state
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step());
  state.SetItemsProcessed(state.iterations() * trainer.tokens_per_step());
}

void lm_generate(benchmark::State& state, const Workload& w) {
  Generator init(0);
  CausalLM model(config_of(w), {DType::f32, kCPU, &init});
  std::vector<std::vector<int64_t>> prompts;
  for (uint64_t p = 0; p < 4; ++p) prompts.push_back(random_tokens(16, 10 + p));
  GenerationConfig g;
  g.greedy = true;
  g.max_new_tokens = 64;
  int64_t generated = 0;
  for (auto _ : state) {
    for (const GeneratedRow& row : generate(model, prompts, g)) generated += static_cast<int64_t>(row.tokens.size());
  }
  state.SetItemsProcessed(generated);
}

// Named <loop>/<preset>, as the peer names its results (scripts/bench_compare.py pairs them).
const bool registered = [] {
  for (const Workload& w : kWorkloads) {
    benchmark::RegisterBenchmark((std::string("lm_train_step/") + w.preset).c_str(), lm_train_step, w)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((std::string("lm_generate/") + w.preset).c_str(), lm_generate, w)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
}  // namespace subtb::nn

BENCHMARK_MAIN();
