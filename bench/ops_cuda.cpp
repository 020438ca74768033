// Op throughput on CUDA (cuda:0): the workloads of bench/ops.cpp, under the same names, on
// the GPU. Every iteration runs the op and waits for the device, so a time is that of one
// op from call to finished result; bench/peers/ops.py --device cuda measures PyTorch the
// same way (torch.cuda.synchronize() after each call). Skips every benchmark without a GPU.
#include <benchmark/benchmark.h>

#include "kernels/backend.h"
#include "tensor/ops.h"

namespace subtb {
namespace {

const Device kGpu = cuda_device(0);

Tensor input(const Shape& shape, uint64_t seed, bool requires_grad = false) {
  Generator gen(seed);
  Tensor t = randn(shape, DType::f32, kGpu, &gen);
  t.requires_grad_(requires_grad);
  return t;
}

// Times op() to completion; false (and the benchmark skipped) without a GPU.
template <class Op>
void run(benchmark::State& state, Op op) {
  Backend& gpu = backend(kGpu);
  op();  // first-use costs (cuBLAS handle, allocator blocks) stay out of the timing
  gpu.synchronize();
  for (auto _ : state) {
    benchmark::DoNotOptimize(op());
    gpu.synchronize();
  }
}

bool have_gpu(benchmark::State& state) {
  if (cuda_device_count() > 0) return true;
  state.SkipWithError("no CUDA device");
  return false;
}

void set_throughput(benchmark::State& state, int64_t elements, int64_t bytes) {
  state.SetItemsProcessed(state.iterations() * elements);
  state.SetBytesProcessed(state.iterations() * bytes);
}

// ----- matmul: [n, n] @ [n, n] f32 (TF32 off), reported in FLOP/s.
void matmul_f32(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t n = state.range(0);
  const Tensor a = input({n, n}, 1), b = input({n, n}, 2);
  run(state, [&] { return matmul(a, b); });
  state.counters["FLOPS"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(matmul_f32)->Arg(256)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMicrosecond)->UseRealTime();

// ----- elementwise and reductions on n f32 elements
template <class Op>
void on_vectors(benchmark::State& state, int64_t rows_of, int tensors, Op op) {
  if (!have_gpu(state)) return;
  const int64_t n = state.range(0);
  const Shape shape = rows_of > 0 ? Shape{n / rows_of, rows_of} : Shape{n};
  const Tensor a = input(shape, 1), b = input(shape, 2);
  run(state, [&] { return op(a, b); });
  set_throughput(state, n, tensors * n * 4);
}
void add_f32(benchmark::State& s) {
  on_vectors(s, 0, 3, [](const Tensor& a, const Tensor& b) { return a + b; });
}
void mul_f32(benchmark::State& s) {
  on_vectors(s, 0, 3, [](const Tensor& a, const Tensor& b) { return a * b; });
}
void exp_f32(benchmark::State& s) {
  on_vectors(s, 0, 2, [](const Tensor& a, const Tensor&) { return exp(a); });
}
void sum_all_f32(benchmark::State& s) {
  on_vectors(s, 0, 1, [](const Tensor& a, const Tensor&) { return sum(a); });
}
void sum_lastdim_f32(benchmark::State& s) {
  on_vectors(s, 1024, 1, [](const Tensor& a, const Tensor&) { return sum(a, {-1}); });
}
void max_dim_f32(benchmark::State& s) {
  on_vectors(s, 1024, 1, [](const Tensor& a, const Tensor&) { return max(a, -1).values; });
}
// [n / 1024, 1024] + [1024]: the bias-add pattern.
void add_broadcast_f32(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const int64_t n = state.range(0);
  const Tensor a = input({n / 1024, 1024}, 1), b = input({1024}, 2);
  run(state, [&] { return a + b; });
  set_throughput(state, n, 2 * n * 4);
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
template <class Op>
void on_rows(benchmark::State& state, int passes, Op op) {
  if (!have_gpu(state)) return;
  const int64_t rows = state.range(0), cols = state.range(1);
  const Tensor x = input({rows, cols}, 1);
  run(state, [&] { return op(x, cols); });
  set_throughput(state, rows * cols, passes * rows * cols * 4);
}
void softmax_f32(benchmark::State& s) {
  on_rows(s, 2, [](const Tensor& x, int64_t) { return softmax(x, -1); });
}
void log_softmax_f32(benchmark::State& s) {
  on_rows(s, 2, [](const Tensor& x, int64_t) { return log_softmax(x, -1); });
}
void layer_norm_f32(benchmark::State& s) {
  Tensor w, b;
  on_rows(s, 2, [&](const Tensor& x, int64_t cols) {
    if (!w.defined()) {
      w = input({cols}, 2);
      b = input({cols}, 3);
    }
    return layer_norm(x, w, b);
  });
}
void cross_entropy_f32(benchmark::State& s) {
  Tensor target;
  on_rows(s, 1, [&](const Tensor& x, int64_t cols) {
    if (!target.defined()) {
      Generator gen(4);
      target = randint(0, cols, {x.size(0)}, DType::i64, kGpu, &gen);
    }
    return cross_entropy(x, target);
  });
}
#define SUBTB_BENCH_ROWS(fn) \
  BENCHMARK(fn)->Args({4096, 1024})->Args({256, 32000})->Unit(benchmark::kMicrosecond)->UseRealTime()
SUBTB_BENCH_ROWS(softmax_f32);
SUBTB_BENCH_ROWS(log_softmax_f32);
SUBTB_BENCH_ROWS(layer_norm_f32);
SUBTB_BENCH_ROWS(cross_entropy_f32);

// ----- the fixed cost of an op, to completion (launch latency included).
void tiny_add_16(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const Tensor a = input({16}, 1, state.range(0)), b = input({16}, 2, state.range(0));
  run(state, [&] { return a + b; });
  state.SetItemsProcessed(state.iterations());
}
void small_matmul_64(benchmark::State& state) {
  if (!have_gpu(state)) return;
  const Tensor a = input({64, 64}, 1, state.range(0)), b = input({64, 64}, 2, state.range(0));
  run(state, [&] { return matmul(a, b); });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(tiny_add_16)->ArgName("grad")->Arg(0)->Arg(1)->UseRealTime();
BENCHMARK(small_matmul_64)->ArgName("grad")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace subtb

BENCHMARK_MAIN();
