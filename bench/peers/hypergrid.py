#!/usr/bin/env python3
"""torchgfn peer of `subtb train hypergrid` and bench/train_step.cpp: trains the same
GFlowNet on the same HyperGrid with torchgfn, on the CPU, and reports the time per training
iteration and the learned distribution's quality at the end.

The model is the one subtb trains: an MLP of `--layers` hidden layers of `--hidden`
LeakyReLU units on the K-hot encoding of the state (KHotPreprocessor, as subtb's
HyperGrid::encode), whose trunk is shared by the P_F head, the learned P_B head and (DB,
SubTB) the log F head; TB's log Z is a scalar. Adam, 1e-3 for the networks and 0.1 for
log Z. On-policy: each iteration samples `--batch` trajectories with the log-probabilities
saved, and the loss reuses them (torchgfn's fast path; recalculate_all_logprobs=False).
DB is torchgfn's DBGFlowNet (mean over transitions) and SubTB its SubTBGFlowNet with the
geometric_within weighting, lambda = 0.9, as in subtb.

Timing: the wall time of iterations warmup+1 .. warmup+timed (sample, loss, backward,
Adam step), divided by their number. Quality after `--steps` iterations: the exact L1
(sum over states of |p - q|) between the policy's terminal distribution, computed by a
dynamic program over the grid, and R/Z, and |learned log Z - true log Z| (TB's scalar, or
log F(s_0)).

Prints one JSON object: {"torch", "torchgfn", "threads", "case", "objective",
"ms_per_step", "l1", "log_z", "log_z_true", "log_z_error", "steps"}.
Usage: python3 bench/peers/hypergrid.py --objective tb|db|subtb [--ndim 2] [--height 8]
        [--r0 0.1] [--batch 16] [--steps 1000] [--warmup 100] [--timed 300] [--seed 0]
        [--hidden 256] [--layers 2] [--threads 2]
"""
import argparse
import json
import math
import time

import torch


def build(args):
    import gfn
    from gfn.estimators import DiscretePolicyEstimator, ScalarEstimator
    from gfn.gflownet import DBGFlowNet, SubTBGFlowNet, TBGFlowNet
    from gfn.gym import HyperGrid
    from gfn.preprocessors import KHotPreprocessor
    from gfn.utils.modules import MLP

    env = HyperGrid(ndim=args.ndim, height=args.height, reward_fn_kwargs={"R0": args.r0, "R1": 0.5, "R2": 2.0},
                    validate_modes=False)
    pre = KHotPreprocessor(height=args.height, ndim=args.ndim)
    mlp = dict(hidden_dim=args.hidden, n_hidden_layers=args.layers, activation_fn="leaky_relu")
    pf_module = MLP(input_dim=pre.output_dim, output_dim=env.n_actions, **mlp)
    pb_module = MLP(input_dim=pre.output_dim, output_dim=env.n_actions - 1, trunk=pf_module.trunk, **mlp)
    pf = DiscretePolicyEstimator(pf_module, env.n_actions, preprocessor=pre, is_backward=False)
    pb = DiscretePolicyEstimator(pb_module, env.n_actions, preprocessor=pre, is_backward=True)
    if args.objective == "tb":
        gflownet = TBGFlowNet(pf=pf, pb=pb, init_logZ=0.0)
        log_z_params = gflownet.logz_parameters()
        log_flow = None
    else:
        logf_module = MLP(input_dim=pre.output_dim, output_dim=1, trunk=pf_module.trunk, **mlp)
        log_flow = ScalarEstimator(module=logf_module, preprocessor=pre)
        if args.objective == "db":
            gflownet = DBGFlowNet(pf=pf, pb=pb, logF=log_flow)
        else:
            gflownet = SubTBGFlowNet(pf=pf, pb=pb, logF=log_flow, weighting="geometric_within", lamda=0.9)
        log_z_params = []
    # The trunk's parameters are shared: each tensor once, at the network's rate.
    seen, net_params = set(), []
    for p in gflownet.parameters():
        if id(p) not in seen and all(p is not q for q in log_z_params):
            seen.add(id(p))
            net_params.append(p)
    groups = [{"params": net_params, "lr": 1e-3}]
    if log_z_params:
        groups.append({"params": log_z_params, "lr": 0.1})
    optimizer = torch.optim.Adam(groups)
    return gfn, env, pf, log_flow, gflownet, optimizer


def all_grid_states(ndim, height):
    """[H^D, D] every point, row-major (the last coordinate fastest)."""
    axes = [torch.arange(height)] * ndim
    return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, ndim)


@torch.no_grad()
def exact_metrics(env, pf, log_flow, gflownet, args):
    """Exact L1 between the policy's terminal distribution and R/Z, and the learned log Z."""
    D, H = args.ndim, args.height
    points = all_grid_states(D, H)
    states = env.States(points.clone())
    logits = pf(states)
    logits = torch.where(states.forward_masks, logits, torch.tensor(-math.inf))
    probs = torch.softmax(logits.double(), dim=-1)  # [N, D + 1], exit last
    strides = torch.tensor([H ** (D - 1 - d) for d in range(D)])
    level = points.sum(dim=1)
    reach = torch.zeros(points.shape[0], dtype=torch.float64)
    reach[0] = 1.0
    for k in range(int(level.max()) + 1):
        idx = torch.nonzero(level == k).squeeze(1)
        for d in range(D):
            move = points[idx, d] < H - 1
            src = idx[move]
            reach.index_add_(0, src + strides[d], reach[src] * probs[src, d])
    terminal = reach * probs[:, D]
    log_reward = torch.log(env.reward(states).double())
    log_z_true = torch.logsumexp(log_reward, dim=0).item()
    target = torch.exp(log_reward - log_z_true)
    if args.objective == "tb":
        log_z = gflownet.logZ.item()
    else:
        log_z = log_flow(env.States(points[:1].clone())).item()
    return (terminal - target).abs().sum().item(), log_z, log_z_true


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", choices=["tb", "db", "subtb"], required=True)
    parser.add_argument("--ndim", type=int, default=2)
    parser.add_argument("--height", type=int, default=8)
    parser.add_argument("--r0", type=float, default=0.1)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000, help="training iterations before the quality check")
    parser.add_argument("--warmup", type=int, default=100, help="iterations before the timed ones")
    parser.add_argument("--timed", type=int, default=300, help="timed iterations (within --steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.warmup + args.timed > args.steps:
        parser.error("--warmup + --timed must not exceed --steps")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gfn, env, pf, log_flow, gflownet, optimizer = build(args)

    def iteration():
        trajectories = gflownet.sample_trajectories(env, n=args.batch, save_logprobs=True)
        loss = gflownet.loss_from_trajectories(env, trajectories, recalculate_all_logprobs=False)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    elapsed = 0.0
    for step in range(1, args.steps + 1):
        timed = args.warmup < step <= args.warmup + args.timed
        start = time.perf_counter()
        iteration()
        if timed:
            elapsed += time.perf_counter() - start
    l1, log_z, log_z_true = exact_metrics(env, pf, log_flow, gflownet, args)
    print(json.dumps({"torch": torch.__version__, "torchgfn": getattr(gfn, "__version__", "unknown"),
                      "threads": torch.get_num_threads(),
                      "case": f"D={args.ndim} H={args.height} R0={args.r0:g} batch {args.batch}",
                      "objective": args.objective, "ms_per_step": 1e3 * elapsed / args.timed, "l1": l1,
                      "log_z": log_z, "log_z_true": log_z_true, "log_z_error": abs(log_z - log_z_true),
                      "steps": args.steps}))


if __name__ == "__main__":
    main()
