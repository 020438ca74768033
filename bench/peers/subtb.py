#!/usr/bin/env python3
"""PyTorch peer of bench/objectives.cpp: the SubTB(lambda) batch loss (geometric_within,
lambda = 0.9), forward + backward, on the same shapes and under the same names.

With torchgfn installed (pip install torchgfn), the loss is torchgfn's own
SubTBGFlowNet.loss code path: its get_scores loop over sub-trajectory lengths and its
geometric_within contributions, fed the same log-probabilities and log-flows that subtb
gets (torchgfn's estimators and Trajectories sampling are bypassed, so that only the loss
is timed). Without torchgfn, the same algorithm written in plain PyTorch is timed
instead: cumsum, then a Python loop over lengths k = 1..L building [B, L] residuals.
On identical f64 inputs torchgfn's losses equal subtb's for every weighting (to the f32
precision torchgfn computes its weights in), provided log P_B of the exit step is 0,
which is the convention both use.

Prints one JSON object {"threads", "torch", "implementation", "results": {name: ns}}.
Usage: python3 bench/peers/subtb.py [--threads 2] [--filter REGEX] [--min-time 0.5]
                                    [--implementation auto|torchgfn|pytorch]
"""
import argparse
import json
import math
import re
import statistics
import time
import types
import warnings

import torch


def plain_subtb_loss(log_pf, log_pb, log_flow, lengths, lam):
    """Mean over trajectories of sum_{i<j} lam^(j-i-1) d_ij^2 / the row's total weight."""
    B, L = log_pf.shape
    inside = torch.arange(L).unsqueeze(0) < lengths.unsqueeze(1)
    step = torch.where(inside, log_pf - log_pb, torch.zeros_like(log_pf))
    x = log_flow - torch.cat([torch.zeros(B, 1), torch.cumsum(step, dim=1)], dim=1)  # d(i, j) = x[i] - x[j]
    total = torch.zeros(B)
    weight_sum = torch.zeros(B)
    for k in range(1, L + 1):
        d = x[:, : L + 1 - k] - x[:, k:]
        valid = (torch.arange(L + 1 - k) + k).unsqueeze(0) <= lengths.unsqueeze(1)
        w = lam ** (k - 1)
        total = total + w * torch.where(valid, d * d, torch.zeros_like(d)).sum(dim=1)
        weight_sum = weight_sum + w * valid.sum(dim=1)
    nonempty = lengths > 0
    return (total[nonempty] / weight_sum[nonempty]).mean()


def torchgfn_loss_fn(lam):
    """torchgfn's SubTBGFlowNet.loss on given (time-major) log-probabilities and flows."""
    from gfn.gflownet import SubTBGFlowNet
    from gfn.gflownet.losses import SquaredLoss

    class LossOnly(SubTBGFlowNet):
        def __init__(self):  # no estimators: the inputs are given
            torch.nn.Module.__init__(self)
            self.weighting, self.lamda = "geometric_within", lam
            self.log_reward_clip_min, self.forward_looking = -math.inf, False
            self.constant_pb, self.debug, self.loss_fn = False, False, SquaredLoss()

        def get_pfs_and_pbs(self, trajectories, recalculate_all_logprobs=True):
            return trajectories.log_pf, trajectories.log_pb

        def calculate_log_state_flows(self, env, trajectories, log_pf_trajectories):
            return trajectories.log_state_flows

    class Batch(types.SimpleNamespace):
        def __len__(self):
            return self.batch_size

    gflownet = LossOnly()

    def prepare(log_pf, log_pb, log_flow, lengths):
        """subtb's [B, L] layout -> torchgfn's (L, B) tensors, as fresh leaves."""
        B, L = log_pf.shape
        t = torch.arange(L).unsqueeze(1)
        inside = t < lengths.unsqueeze(0)
        leaf = lambda v: v.detach().clone().requires_grad_()
        return Batch(batch_size=B, max_length=L, terminating_idx=lengths,
                     log_pf=leaf(torch.where(inside, log_pf.T, 0.0)),
                     log_pb=leaf(torch.where(inside, log_pb.T, 0.0)),
                     log_state_flows=leaf(torch.where(inside, log_flow[:, :L].T, -math.inf)),
                     log_rewards=log_flow.gather(1, lengths.unsqueeze(1)).squeeze(1).detach(),
                     actions=types.SimpleNamespace(is_exit=t == (lengths - 1).unsqueeze(0)))

    def loss(batch):
        return gflownet.loss(object(), batch)

    return prepare, loss


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


def inputs(B, L):
    gen = torch.Generator().manual_seed(1)
    log_pf = -torch.randn(B, L, generator=gen).abs()
    log_pb = -torch.randn(B, L, generator=gen).abs()
    log_flow = torch.randn(B, L + 1, generator=gen)
    lengths = torch.randint(L // 2, L + 1, (B,), generator=gen)
    log_pb[torch.arange(B), lengths - 1] = 0.0  # log P_B of the exit step
    return log_pf, log_pb, log_flow, lengths


def workload(B, L, implementation):
    log_pf, log_pb, log_flow, lengths = inputs(B, L)
    if implementation == "torchgfn":
        prepare, loss = torchgfn_loss_fn(0.9)
        batch = prepare(log_pf, log_pb, log_flow, lengths)
        leaves = (batch.log_pf, batch.log_pb, batch.log_state_flows)

        def step():
            loss(batch).backward()
            for t in leaves:
                t.grad = None
        return step

    leaves = [t.requires_grad_() for t in (log_pf, log_pb, log_flow)]

    def step():
        plain_subtb_loss(*leaves, lengths, 0.9).backward()
        for t in leaves:
            t.grad = None
    return step


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--filter", default=".*")
    p.add_argument("--min-time", type=float, default=0.5)
    p.add_argument("--implementation", choices=("auto", "torchgfn", "pytorch"), default="auto")
    a = p.parse_args()
    warnings.filterwarnings("ignore")
    implementation = a.implementation
    if implementation == "auto":
        try:
            import gfn  # noqa: F401
            implementation = "torchgfn"
        except ImportError:
            implementation = "pytorch"
    torch.set_num_threads(a.threads)
    results = {}
    for B, L in ((256, 64), (64, 256), (4096, 128)):
        name = f"subtb_fused/{B}/{L}"  # the subtb workload this one is compared with
        if re.search(a.filter, name):
            results[name] = timed(workload(B, L, implementation), a.min_time)
    version = torch.__version__
    if implementation == "torchgfn":
        import gfn
        version += f", torchgfn {getattr(gfn, '__version__', '?')}"
    print(json.dumps({"threads": torch.get_num_threads(), "torch": version, "implementation": implementation,
                      "results": results}))


if __name__ == "__main__":
    main()
