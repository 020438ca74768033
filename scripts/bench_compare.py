#!/usr/bin/env python3
"""Runs bench_ops and its PyTorch peer (bench/peers/ops.py) one after the other, on the
same thread count, and prints a Markdown report: the machine, the commands, and per
workload the two median times and the speed ratio (PyTorch time / subtb time, so > 1
means subtb is faster).

Usage: scripts/bench_compare.py [--bench build/release/bench/bench_ops] [--threads 2]
                                [--filter REGEX] [--repetitions 5] [--openblas-coretype NAME]
                                [--peer bench/peers/ops.py] [--peer-arg ARG ...]
                                [--subtb-env KEY=VALUE ...]
The SubTB comparison: --bench build/release/bench/bench_objectives --peer bench/peers/subtb.py
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def target(name):
    """(description, predicate on (subtb_ns, torch_ns)) for a workload."""
    if name.startswith("matmul_f32/"):
        return ">= 0.9x", lambda ours, theirs: theirs / ours >= 0.9
    if name == "tiny_add_16/grad:1":
        return "<= 300 ns", lambda ours, theirs: ours <= 300
    if name.startswith("subtb_fused/"):
        return ">= 20x", lambda ours, theirs: theirs / ours >= 20
    return ">= 1.0x", lambda ours, theirs: theirs / ours >= 1.0


def run_subtb(binary, threads, regex, repetitions, coretype, extra_env):
    cmd = [str(binary), "--benchmark_format=json", f"--benchmark_filter={regex}",
           f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true"]
    settings = {"OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads)}
    if coretype:
        settings["OPENBLAS_CORETYPE"] = coretype
    settings.update(extra_env)
    env = dict(os.environ, **settings)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    results = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = b["run_name"].removesuffix("/real_time")
        results[name] = b["real_time"] * UNIT_NS[b["time_unit"]]
    env_text = " ".join(f"{k}={v}" for k, v in settings.items())
    return results, f"{env_text} {shlex.join(cmd)}", openblas_core(env)


def openblas_core(env):
    """The kernel set OpenBLAS picks at load time under `env` (it reads OPENBLAS_CORETYPE)."""
    code = ("import ctypes; lib = ctypes.CDLL('libopenblas.so.0'); "
            "lib.openblas_get_corename.restype = ctypes.c_char_p; print(lib.openblas_get_corename().decode())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def run_torch(peer, threads, regex, extra_args):
    cmd = [sys.executable, str(peer), f"--threads={threads}", f"--filter={regex}", *extra_args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out), shlex.join(cmd)


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.0f} ns"


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    flags = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                flags = " ".join(flag for flag in ("avx2", "fma", "avx512f") if flag in have)
                break

    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    dirty = " (working tree had uncommitted changes)" if git("status", "--porcelain") else ""
    return [f"- machine: {os.cpu_count()} cores (nproc), {cpu} ({flags}), {platform.platform()}",
            f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
            f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"- commit: {commit}{dirty}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default=ROOT / "build/release/bench/bench_ops", type=Path)
    parser.add_argument("--peer", default=ROOT / "bench/peers/ops.py", type=Path,
                        help="the PyTorch peer script (bench/peers/subtb.py goes with bench_objectives)")
    parser.add_argument("--peer-arg", action="append", default=[],
                        help="an extra argument for the peer script (repeatable)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default=".", help="regex selecting workloads in both runs")
    parser.add_argument("--repetitions", type=int, default=5, help="Google Benchmark repetitions (median kept)")
    parser.add_argument("--openblas-coretype", default="",
                        help="OPENBLAS_CORETYPE for subtb's run (default: OpenBLAS's own detection)")
    parser.add_argument("--subtb-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable for subtb's run only, e.g. OMP_WAIT_POLICY=passive (repeatable)")
    args = parser.parse_args()
    subtb_env = dict(item.split("=", 1) for item in args.subtb_env)

    header = machine()
    ours, ours_cmd, core = run_subtb(args.bench, args.threads, args.filter, args.repetitions, args.openblas_coretype,
                                     subtb_env)
    peer, peer_cmd = run_torch(args.peer, args.threads, args.filter, args.peer_arg)
    theirs = peer["results"]

    print("\n".join(header))
    print(f"- subtb: OpenBLAS with its {core} kernels, {args.threads} threads")
    details = f"{peer['blas']} BLAS, {peer['isa']} kernels" if "blas" in peer else peer.get("implementation", "")
    print(f"- PyTorch {peer['torch']} ({details}), torch.set_num_threads({peer['threads']})")
    print(f"- commands:\n  - `{ours_cmd}`\n  - `{peer_cmd}`")
    print()
    print("| workload | subtb | PyTorch | speed vs PyTorch | target | met |")
    print("|---|---:|---:|---:|---|---|")
    met = total = 0
    for name in sorted(set(ours) | set(theirs), key=lambda n: (list(ours).index(n) if n in ours else 1 << 30, n)):
        o, t = ours.get(name), theirs.get(name)
        if o is None or t is None:
            print(f"| {name} | {fmt_time(o) if o else 'missing'} | {fmt_time(t) if t else 'missing'} | | | |")
            continue
        goal, ok = target(name)
        total += 1
        met += ok(o, t)
        print(f"| {name} | {fmt_time(o)} | {fmt_time(t)} | {t / o:.2f}x | {goal} | {'yes' if ok(o, t) else 'NO'} |")
    print(f"\n{met} of {total} targets met.")


if __name__ == "__main__":
    main()
