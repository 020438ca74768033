#!/usr/bin/env python3
"""Compares GFlowNet training on HyperGrid between subtb and torchgfn, on the CPU with the
same thread count, and prints a Markdown report: per case and objective, the time per
training iteration of each (subtb: bench_train_step, Google Benchmark, median of the
repetitions; torchgfn: bench/peers/hypergrid.py) and their ratio (torchgfn time / subtb
time, so > 1 means subtb is faster), then the quality both reach at equal steps: the exact
L1 between the learned terminal distribution and R/Z, and |learned log Z - true log Z|,
averaged over seeds (subtb: `subtb train hypergrid`).

Both train the same model (2 x 256 LeakyReLU trunk shared by the P_F, learned P_B and log F
heads), on-policy, with the same batch, learning rates (1e-3, log Z 0.1) and objectives
(TB; DB, mean over transitions; SubTB(0.9), geometric_within).

Usage: scripts/train_compare.py [--build build/release] [--threads 2] [--seeds 2]
                                [--filter REGEX] [--repetitions 3] [--realtime]
                                [--openblas-coretype NAME]
--realtime runs every measurement under `chrt -r 1` (see bench/README.md, Fairness).
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_compare import machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}

# (label, ndim, height, r0, batch, steps for the quality comparison)
CASES = [("D2_H8_B16", 2, 8, 0.1, 16, 1000), ("D4_H12_B64", 4, 12, 1e-3, 64, 400)]
OBJECTIVES = ["tb", "db", "subtb"]
TARGET = 5.0  # subtb at least this many times faster per iteration


def prefix(args):
    return ["chrt", "-r", "1"] if args.realtime else []


def thread_env(args):
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))
    if args.openblas_coretype:
        env["OPENBLAS_CORETYPE"] = args.openblas_coretype
    return env


def run(cmd, env=None):
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout


def ours_time(args, regex):
    cmd = prefix(args) + [str(args.build / "bench/bench_train_step"), "--benchmark_format=json",
                          f"--benchmark_filter={regex}", f"--benchmark_repetitions={args.repetitions}",
                          "--benchmark_report_aggregates_only=true"]
    out = json.loads(run(cmd, thread_env(args)))
    times = {}  # the median of the repetitions (a single repetition has no aggregates)
    for b in out["benchmarks"]:
        if b.get("aggregate_name", "median") == "median":
            times[b["run_name"].split("/min_time")[0]] = b["real_time"] * UNIT_MS[b["time_unit"]]
    return times, shlex.join(cmd)


def ours_quality(args, objective, case, seed):
    _, ndim, height, r0, batch, steps = case
    with tempfile.TemporaryDirectory() as out:
        cmd = prefix(args) + [str(args.build / "apps/subtb"), "train", "hypergrid", f"--ndim={ndim}",
                              f"--height={height}", f"--r0={r0}", f"--batch={batch}", f"--objective={objective}",
                              "--pb=learned", f"--steps={steps}", f"--eval-every={steps}", f"--seed={seed}",
                              f"--out={out}"]
        run(cmd, thread_env(args))
        last = json.loads(Path(out, "metrics.jsonl").read_text().splitlines()[-1])
    return last["l1"], last["log_z_error"], shlex.join(cmd[:-2])


def peer(args, objective, case, seed):
    _, ndim, height, r0, batch, steps = case
    cmd = prefix(args) + [sys.executable, str(ROOT / "bench/peers/hypergrid.py"), f"--objective={objective}",
                          f"--ndim={ndim}", f"--height={height}", f"--r0={r0}", f"--batch={batch}",
                          f"--steps={steps}", "--warmup=100", f"--timed={min(300, steps - 100)}", f"--seed={seed}",
                          f"--threads={args.threads}"]
    return json.loads(run(cmd).strip().splitlines()[-1]), shlex.join(cmd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=ROOT / "build/release", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=2, help="seeds of the quality comparison")
    parser.add_argument("--filter", default=".", help="regex over '<objective>/<case>'")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--realtime", action="store_true", help="run every measurement under chrt -r 1")
    parser.add_argument("--openblas-coretype", default="",
                        help="OPENBLAS_CORETYPE for subtb's runs (default: OpenBLAS's own detection)")
    args = parser.parse_args()

    header = machine()
    rows, commands = [], []
    for case in CASES:
        for objective in OBJECTIVES:
            name = f"{objective}/{case[0]}"
            if not re.search(args.filter, name):
                continue
            times, cmd = ours_time(args, f"^train_step/{name}/")
            commands.append(cmd)
            ours = [ours_quality(args, objective, case, seed) for seed in range(args.seeds)]
            commands.append(ours[0][2] + " --seed=S --out=DIR")
            theirs = [peer(args, objective, case, seed) for seed in range(args.seeds)]
            commands.append(theirs[0][1].replace("--seed=0", "--seed=S"))
            rows.append({"objective": objective, "case": case, "ours_ms": times[f"train_step/{name}"],
                         "theirs_ms": statistics.mean(t["ms_per_step"] for t, _ in theirs),
                         "ours_l1": statistics.mean(o[0] for o in ours),
                         "ours_logz": statistics.mean(o[1] for o in ours),
                         "theirs_l1": statistics.mean(t["l1"] for t, _ in theirs),
                         "theirs_logz": statistics.mean(t["log_z_error"] for t, _ in theirs),
                         "versions": f"torch {theirs[0][0]['torch']}, torchgfn {theirs[0][0]['torchgfn']}"})

    print("\n".join(header))
    if rows:
        print(f"- peer: {rows[0]['versions']}, torch.set_num_threads({args.threads}); subtb: "
              f"OMP_NUM_THREADS={args.threads} OPENBLAS_NUM_THREADS={args.threads}"
              f"{' OPENBLAS_CORETYPE=' + args.openblas_coretype if args.openblas_coretype else ''}"
              f"{'; every measurement under chrt -r 1' if args.realtime else ''}")
    print("- commands:")
    for cmd in commands:
        print(f"  - `{cmd}`")
    print("\n## Time per training iteration\n")
    print("| objective | case | subtb | torchgfn | speed vs torchgfn | target | met |")
    print("|---|---|---:|---:|---:|---|---|")
    met = 0
    for r in rows:
        ratio = r["theirs_ms"] / r["ours_ms"]
        met += ratio >= TARGET
        print(f"| {r['objective']} | {r['case'][0]} | {r['ours_ms']:.2f} ms | {r['theirs_ms']:.2f} ms | "
              f"{ratio:.1f}x | >= {TARGET:g}x | {'yes' if ratio >= TARGET else 'NO'} |")
    print(f"\n{met} of {len(rows)} targets met.")
    print(f"\n## Quality at equal steps (mean over {args.seeds} seeds)\n")
    print("| objective | case | steps | L1 subtb | L1 torchgfn | log Z error subtb | log Z error torchgfn |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['objective']} | {r['case'][0]} | {r['case'][5]} | {r['ours_l1']:.3g} | {r['theirs_l1']:.3g} | "
              f"{r['ours_logz']:.3g} | {r['theirs_logz']:.3g} |")


if __name__ == "__main__":
    main()
