// Op throughput on the CPU: matmul, elementwise, reductions, the fused nn ops, and the
// fixed cost of a tiny op with and without autograd recording. bench/peers/ops.py runs
// the same workloads in PyTorch under the same names; scripts/bench_compare.py prints
// the two side by side.
#include <benchmark/benchmark.h>

#include "tensor/ops.h"

namespace subtb {
namespace {

Tensor input(const Shape& shape, uint64_t seed, bool requires_grad = false) {
  Generator gen(seed);
  return randn(shape, DType::f32, kCPU, &gen).requires_grad_(requires_grad);
}

// Elements read and written per iteration, for the bytes/s counter.
void set_throughput(benchmark::State& state, int64_t elements, int64_t bytes) {
  state.SetItemsProcessed(state.iterations() * elements);
  state.SetBytesProcessed(state.iterations() * bytes);
}

// ----- matmul: [n, n] @ [n, n] f32, reported in FLOP/s.
void matmul_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor a = input({n, n}, 1), b = input({n, n}, 2);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  state.counters["FLOPS"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(matmul_f32)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMicrosecond)->UseRealTime();

// ----- elementwise on n f32 elements
template <class Op>
void elementwise(benchmark::State& state, int inputs, Op op) {
  const int64_t n = state.range(0);
  const Tensor a = input({n}, 1), b = input({n}, 2);
  for (auto _ : state) benchmark::DoNotOptimize(op(a, b));
  set_throughput(state, n, (inputs + 1) * n * 4);
}
void add_f32(benchmark::State& s) { elementwise(s, 2, [](const Tensor& a, const Tensor& b) { return a + b; }); }
void mul_f32(benchmark::State& s) { elementwise(s, 2, [](const Tensor& a, const Tensor& b) { return a * b; }); }
void exp_f32(benchmark::State& s) { elementwise(s, 1, [](const Tensor& a, const Tensor&) { return exp(a); }); }

// [n / 1024, 1024] + [1024]: the bias-add pattern.
void add_broadcast_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor a = input({n / 1024, 1024}, 1), b = input({1024}, 2);
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  set_throughput(state, n, 2 * n * 4);
}

// ----- reductions over n f32 elements
void sum_all_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor x = input({n}, 1);
  for (auto _ : state) benchmark::DoNotOptimize(sum(x));
  set_throughput(state, n, n * 4);
}
// [n / 1024, 1024] reduced over the last dim.
void sum_lastdim_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor x = input({n / 1024, 1024}, 1);
  for (auto _ : state) benchmark::DoNotOptimize(sum(x, {-1}));
  set_throughput(state, n, n * 4);
}
// Values and indices of the max along the last dim of [n / 1024, 1024].
void max_dim_f32(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Tensor x = input({n / 1024, 1024}, 1);
  for (auto _ : state) benchmark::DoNotOptimize(max(x, -1).values);
  set_throughput(state, n, n * 4);
}

#define SUBTB_BENCH_SIZES(fn) \
  BENCHMARK(fn)->Arg(1 << 20)->Arg(1 << 22)->Arg(1 << 24)->Unit(benchmark::kMicrosecond)->UseRealTime()
SUBTB_BENCH_SIZES(add_f32);
SUBTB_BENCH_SIZES(mul_f32);
SUBTB_BENCH_SIZES(exp_f32);
SUBTB_BENCH_SIZES(add_broadcast_f32);
SUBTB_BENCH_SIZES(sum_all_f32);
SUBTB_BENCH_SIZES(sum_lastdim_f32);
SUBTB_BENCH_SIZES(max_dim_f32);

// ----- fused nn ops on [rows, cols] f32
void softmax_f32(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const Tensor x = input({rows, cols}, 1);
  for (auto _ : state) benchmark::DoNotOptimize(softmax(x, -1));
  set_throughput(state, rows * cols, 2 * rows * cols * 4);
}
void log_softmax_f32(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const Tensor x = input({rows, cols}, 1);
  for (auto _ : state) benchmark::DoNotOptimize(log_softmax(x, -1));
  set_throughput(state, rows * cols, 2 * rows * cols * 4);
}
void layer_norm_f32(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const Tensor x = input({rows, cols}, 1), w = input({cols}, 2), b = input({cols}, 3);
  for (auto _ : state) benchmark::DoNotOptimize(layer_norm(x, w, b));
  set_throughput(state, rows * cols, 2 * rows * cols * 4);
}
// Mean cross-entropy of [rows, cols] logits against i64 targets.
void cross_entropy_f32(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const Tensor logits = input({rows, cols}, 1);
  Generator gen(4);
  const Tensor target = randint(0, cols, {rows}, DType::i64, kCPU, &gen);
  for (auto _ : state) benchmark::DoNotOptimize(cross_entropy(logits, target));
  set_throughput(state, rows * cols, rows * cols * 4);
}
#define SUBTB_BENCH_ROWS(fn) \
  BENCHMARK(fn)->Args({4096, 1024})->Args({256, 32000})->Unit(benchmark::kMicrosecond)->UseRealTime()
SUBTB_BENCH_ROWS(softmax_f32);
SUBTB_BENCH_ROWS(log_softmax_f32);
SUBTB_BENCH_ROWS(layer_norm_f32);
SUBTB_BENCH_ROWS(cross_entropy_f32);

// ----- the fixed cost of an op: front end, allocation, dispatch, and (with grad) the
// graph node. Arg 1 records autograd history (inputs require grad; no backward runs).
void tiny_add_16(benchmark::State& state) {
  const Tensor a = input({16}, 1, state.range(0)), b = input({16}, 2, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  state.SetItemsProcessed(state.iterations());
}
void small_matmul_64(benchmark::State& state) {
  const Tensor a = input({64, 64}, 1, state.range(0)), b = input({64, 64}, 2, state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(tiny_add_16)->ArgName("grad")->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(small_matmul_64)->ArgName("grad")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace subtb

BENCHMARK_MAIN();
