// The byte-level BPE tokenizer: training on the built-in corpus, and encoding with an
// empty word cache (every word through BPE) and with a warm one (the usual case: text
// repeats its words). Reported in bytes of text per second.
#include "nn/tokenizer/tokenizer.h"

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "nn/text/synthetic_corpus.h"

namespace {

using subtb::nn::Tokenizer;

const std::string& corpus() {
  static const std::string text = subtb::nn::synthetic_corpus(0);
  return text;
}

const Tokenizer& trained() {
  static const Tokenizer tok = Tokenizer::train(std::vector<std::string>{corpus()}, {.vocab_size = 1024});
  return tok;
}

void BM_Train(benchmark::State& state) {
  const std::vector<std::string> texts{corpus()};
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::train(texts, {.vocab_size = 1024}));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(corpus().size()));
}
BENCHMARK(BM_Train)->Unit(benchmark::kMillisecond);

void BM_EncodeColdCache(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    const Tokenizer tok = trained();  // a copy starts with an empty cache
    state.ResumeTiming();
    benchmark::DoNotOptimize(tok.encode(corpus()));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(corpus().size()));
}
BENCHMARK(BM_EncodeColdCache)->Unit(benchmark::kMillisecond);

void BM_EncodeWarmCache(benchmark::State& state) {
  const Tokenizer& tok = trained();
  benchmark::DoNotOptimize(tok.encode(corpus()));
  for (auto _ : state) benchmark::DoNotOptimize(tok.encode(corpus()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(corpus().size()));
}
BENCHMARK(BM_EncodeWarmCache)->Unit(benchmark::kMillisecond);

void BM_Decode(benchmark::State& state) {
  const Tokenizer& tok = trained();
  const std::vector<std::int32_t> ids = tok.encode(corpus());
  for (auto _ : state) benchmark::DoNotOptimize(tok.decode(ids));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(corpus().size()));
}
BENCHMARK(BM_Decode)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
