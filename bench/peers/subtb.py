#!/usr/bin/env python3
"""PyTorch peer of bench/objectives.cpp: the SubTB(lambda) batch loss (geometric_within,
lambda = 0.9), forward + backward, on the same shapes, under the same names.

The algorithm is the one the public GFlowNet libraries use: prefix sums with cumsum,
then a Python loop over sub-trajectory lengths k = 1..L, each step building the [B, L]
residuals of every length-k sub-trajectory (O(L) kernel launches, O(B L^2) work, and an
autograd graph of the same size). torchgfn's SubTBGFlowNet computes it this way from its
Trajectories container; the container is left out here so that only the loss is timed.

Prints one JSON object {"threads": ..., "torch": ..., "results": {name: ns_per_call}}.
Usage: python3 bench/peers/subtb.py [--threads 2] [--filter REGEX] [--min-time 0.5]
"""
import argparse
import json
import re
import statistics
import time

import torch


def subtb_loss(log_pf, log_pb, log_flow, lengths, lam):
    """Mean over trajectories of sum_{i<j} lam^(j-i-1) d_ij^2 / sum of the row's weights."""
    B, L = log_pf.shape
    steps = torch.arange(L)
    inside = steps.unsqueeze(0) < lengths.unsqueeze(1)
    step = torch.where(inside, log_pf - log_pb, torch.zeros_like(log_pf))
    prefix = torch.cat([torch.zeros(B, 1), torch.cumsum(step, dim=1)], dim=1)  # C[t]
    x = log_flow - prefix  # d(i, j) = x[i] - x[j]
    total = torch.zeros(B)
    weight_sum = torch.zeros(B)
    for k in range(1, L + 1):
        d = x[:, : L + 1 - k] - x[:, k:]  # residuals of the sub-trajectories i -> i + k
        valid = (torch.arange(L + 1 - k) + k).unsqueeze(0) <= lengths.unsqueeze(1)
        w = lam ** (k - 1)
        total = total + w * torch.where(valid, d * d, torch.zeros_like(d)).sum(dim=1)
        weight_sum = weight_sum + w * valid.sum(dim=1)
    nonempty = lengths > 0
    return (total[nonempty] / weight_sum[nonempty]).mean()


def timed(fn, min_time):
    """Median ns per call after a warm-up, over batches of calls lasting >= 2 ms."""
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < 0.1 or calls < 3:
        fn()
        calls += 1
    batch = max(1, int(2e-3 / ((time.perf_counter() - start) / calls)))
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(samples) < 11:
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter_ns() - t0) / batch)
    return statistics.median(samples)


def workload(B, L):
    gen = torch.Generator().manual_seed(1)
    log_pf = (-torch.randn(B, L, generator=gen).abs()).requires_grad_()
    log_pb = (-torch.randn(B, L, generator=gen).abs()).requires_grad_()
    log_flow = torch.randn(B, L + 1, generator=gen).requires_grad_()
    lengths = torch.randint(L // 2, L + 1, (B,), generator=gen)

    def step():
        loss = subtb_loss(log_pf, log_pb, log_flow, lengths, 0.9)
        loss.backward()
        for t in (log_pf, log_pb, log_flow):
            t.grad = None

    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--filter", default=".*")
    p.add_argument("--min-time", type=float, default=0.5)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    results = {}
    for B, L in ((256, 64), (64, 256), (4096, 128)):
        name = f"subtb_fused/{B}/{L}"  # the subtb workload this one is compared with
        if re.search(a.filter, name):
            results[name] = timed(workload(B, L), a.min_time)
    print(json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
