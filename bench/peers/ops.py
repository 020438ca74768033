#!/usr/bin/env python3
"""PyTorch peer of bench/ops.cpp: the same workloads, shapes and dtypes, under the same
names, timed as the median of many repetitions after a warm-up.

Prints one JSON object {"threads": ..., "torch": ..., "device": ..., "results": {name: ns_per_op}}.
Usage: python3 bench/peers/ops.py [--threads 2] [--filter REGEX] [--min-time 0.5] [--device cpu|cuda]

With --device cuda the tensors live on the GPU and every call is followed by
torch.cuda.synchronize(), so a time is that of one op from call to finished result, the
way bench/ops_cuda.cpp measures subtb.
"""
import argparse
import json
import re
import statistics
import sys
import time

import torch


def timed(fn, min_time):
    """Median nanoseconds per call of fn().

    Warm-up runs until 0.1 s has passed (allocator caches, OpenMP pools and BLAS
    buffers settle). Calls are then timed in batches long enough (>= 2 ms) that the
    clock's resolution does not matter, for at least `min_time` seconds and at least
    11 batches, and the median batch is reported.
    """
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < 0.1 or calls < 3:
        fn()
        calls += 1
    per_call = (time.perf_counter() - start) / calls
    batch = max(1, int(2e-3 / per_call))
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(samples) < 11:
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter_ns() - t0) / batch)
    return statistics.median(samples)


def workloads(device):
    """(name, setup) pairs; setup() returns the zero-argument callable to time."""
    gen = torch.Generator().manual_seed(0)

    def randn(*shape, requires_grad=False):
        x = torch.randn(*shape, generator=gen, dtype=torch.float32).to(device)
        return x.requires_grad_(requires_grad)

    def matmul(n):
        a, b = randn(n, n), randn(n, n)
        return lambda: torch.matmul(a, b)

    def binary(n, op):
        a, b = randn(n), randn(n)
        return lambda: op(a, b)

    def unary(n, op):
        a = randn(n)
        return lambda: op(a)

    def rows(n, op):
        x = randn(n // 1024, 1024)
        return lambda: op(x)

    def add_broadcast(n):
        a, b = randn(n // 1024, 1024), randn(1024)
        return lambda: a + b

    def softmax(r, c, op):
        x = randn(r, c)
        return lambda: op(x, dim=-1)

    def layer_norm(r, c):
        x, w, b = randn(r, c), randn(c), randn(c)
        return lambda: torch.nn.functional.layer_norm(x, (c,), w, b, 1e-5)

    def cross_entropy(r, c):
        logits = randn(r, c)
        target = torch.randint(0, c, (r,), generator=gen).to(device)
        return lambda: torch.nn.functional.cross_entropy(logits, target)

    def tiny_add(grad):
        a, b = randn(16, requires_grad=grad), randn(16, requires_grad=grad)
        return lambda: a + b

    def small_matmul(grad):
        a, b = randn(64, 64, requires_grad=grad), randn(64, 64, requires_grad=grad)
        return lambda: torch.matmul(a, b)

    for n in (256, 512, 1024, 2048):
        yield f"matmul_f32/{n}", lambda n=n: matmul(n)
    sizes = (1 << 20, 1 << 22, 1 << 24)
    for n in sizes:
        yield f"add_f32/{n}", lambda n=n: binary(n, torch.add)
    for n in sizes:
        yield f"mul_f32/{n}", lambda n=n: binary(n, torch.mul)
    for n in sizes:
        yield f"exp_f32/{n}", lambda n=n: unary(n, torch.exp)
    for n in sizes:
        yield f"add_broadcast_f32/{n}", lambda n=n: add_broadcast(n)
    for n in sizes:
        yield f"sum_all_f32/{n}", lambda n=n: unary(n, torch.sum)
    for n in sizes:
        yield f"sum_lastdim_f32/{n}", lambda n=n: rows(n, lambda x: torch.sum(x, dim=-1))
    for n in sizes:
        yield f"max_dim_f32/{n}", lambda n=n: rows(n, lambda x: torch.max(x, dim=-1))
    shapes = ((4096, 1024), (256, 32000))
    for r, c in shapes:
        yield f"softmax_f32/{r}/{c}", lambda r=r, c=c: softmax(r, c, torch.softmax)
    for r, c in shapes:
        yield f"log_softmax_f32/{r}/{c}", lambda r=r, c=c: softmax(r, c, torch.log_softmax)
    for r, c in shapes:
        yield f"layer_norm_f32/{r}/{c}", lambda r=r, c=c: layer_norm(r, c)
    for r, c in shapes:
        yield f"cross_entropy_f32/{r}/{c}", lambda r=r, c=c: cross_entropy(r, c)
    for grad in (0, 1):
        yield f"tiny_add_16/grad:{grad}", lambda grad=grad: tiny_add(bool(grad))
    for grad in (0, 1):
        yield f"small_matmul_64/grad:{grad}", lambda grad=grad: small_matmul(bool(grad))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--filter", default=".", help="run workloads whose name matches this regex")
    parser.add_argument("--min-time", type=float, default=0.5, help="seconds of timed batches per workload")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="where the tensors live")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("ops.py: --device cuda, but this PyTorch sees no CUDA device")
    results = {}
    for name, setup in workloads(args.device):
        if not re.search(args.filter, name):
            continue
        fn = setup()
        if args.device == "cuda":
            fn = lambda op=fn: (op(), torch.cuda.synchronize())
        results[name] = timed(fn, args.min_time)
        print(f"{name}: {results[name]:.0f} ns", file=sys.stderr)
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    isa = re.search(r"CPU capability usage: (\w+)", config)
    json.dump({"threads": torch.get_num_threads(), "torch": torch.__version__, "device": args.device,
               "blas": blas.group(1) if blas else "unknown", "isa": isa.group(1) if isa else "unknown",
               "results": results}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
