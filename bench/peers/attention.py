#!/usr/bin/env python3
"""PyTorch peer of bench/attention_cuda.cpp and bench/attention.cpp:
torch.nn.functional.scaled_dot_product_attention on the same shapes, forward and
backward, without and with a causal mask, with each backend PyTorch has for the device:

  cuda: flash (FlashAttention-2), cudnn (cuDNN fused attention), efficient
        (memory-efficient), math (the composite of matmuls and a softmax)
  cpu:  flash (PyTorch's fused CPU kernel), math

Presets (--preset):
  cuda  bench_attention_cuda: [B, H, T, D] = [2, 16, 4096, 128] bf16 on the GPU
  cpu   bench_attention:      [1, 8, T, 64] f32 on the CPU, T = 256 and 1024

A backend that cannot run a case (not built, wrong GPU, out of memory) gets a row
saying why. FLOP counts follow the C++ benchmarks: forward 4 * B * H * Tq * Tk * D,
halved when causal; backward 2.5 times the forward. Backward times exclude the forward.
Rows are named like the C++ benchmarks, with the PyTorch backend in place of
fused/composite.

Prints a Markdown table; --json prints {"results": {name: {...}}} instead.
Usage: python3 bench/peers/attention.py [--preset cuda|cpu|all] [--reps 20] [--threads 2]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BACKENDS = {
    "cuda": [
        ("flash", SDPBackend.FLASH_ATTENTION),
        ("cudnn", getattr(SDPBackend, "CUDNN_ATTENTION", None)),
        ("efficient", SDPBackend.EFFICIENT_ATTENTION),
        ("math", SDPBackend.MATH),
    ],
    "cpu": [("flash", SDPBackend.FLASH_ATTENTION), ("math", SDPBackend.MATH)],
}

# device, dtype, batch, heads, sequence lengths, head dim
PRESETS = {
    "cuda": ("cuda", torch.bfloat16, 2, 16, [4096], 128),
    "cpu": ("cpu", torch.float32, 1, 8, [256, 1024], 64),
}
DTYPE_NAMES = {torch.bfloat16: "bf16", torch.float32: "f32"}


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def median_ms(fn, device, reps, setup=None):
    """Median milliseconds of fn(arg) over `reps` runs after two warm-ups; arg = setup()
    runs untimed before each call (the forward of a backward run)."""
    samples = []
    for i in range(reps + 2):
        arg = setup() if setup else None
        sync(device)
        t0 = time.perf_counter()
        fn(arg)
        sync(device)
        if i >= 2:
            samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples)


def run_preset(preset, reps):
    device, dtype, batch, heads, seqs, dim = PRESETS[preset]
    gen = torch.Generator().manual_seed(0)
    rows = {}
    for seq in seqs:

        def make():
            return torch.randn(batch, heads, seq, dim, generator=gen).to(device=device, dtype=dtype)

        q, k, v, g = make(), make(), make(), make()
        for causal in (False, True):
            fwd_flops = 4.0 * batch * heads * seq * seq * dim / (2 if causal else 1)
            suffix = f"_{device}_{DTYPE_NAMES[dtype]}" + (f"/T:{seq}" if len(seqs) > 1 else "")
            suffix += f"/causal:{int(causal)}"
            for name, backend in BACKENDS[device]:
                label = f"attention_{name}{suffix}"
                if backend is None:
                    rows[label] = {"error": "this PyTorch has no such backend"}
                    continue
                try:
                    with sdpa_kernel(backend):
                        fwd = median_ms(lambda _: F.scaled_dot_product_attention(q, k, v, is_causal=causal), device,
                                        reps)

                        def forward():
                            qr, kr, vr = (t.detach().requires_grad_() for t in (q, k, v))
                            return F.scaled_dot_product_attention(qr, kr, vr, is_causal=causal)

                        bwd = median_ms(lambda out: out.backward(g), device, reps, setup=forward)
                    rows[label] = {
                        "forward_ms": fwd,
                        "forward_tflops": fwd_flops / fwd / 1e9,
                        "backward_ms": bwd,
                        "backward_tflops": 2.5 * fwd_flops / bwd / 1e9,
                    }
                except (RuntimeError, torch.cuda.OutOfMemoryError) as e:
                    rows[label] = {"error": str(e).splitlines()[0][:100]}
                if device == "cuda":
                    torch.cuda.empty_cache()
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", choices=["cuda", "cpu", "all"], default="all")
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (torch.set_num_threads)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    presets = ["cuda", "cpu"] if args.preset == "all" else [args.preset]
    presets = [s for s in presets if s != "cuda" or torch.cuda.is_available()]
    results = {}
    for preset in presets:
        results.update(run_preset(preset, args.reps))
    if args.json:
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results},
                         indent=1))
        return

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    print(f"PyTorch {torch.__version__}, scaled_dot_product_attention, {torch.get_num_threads()} CPU threads, "
          f"GPU: {gpu}\n")
    print("| workload | forward ms | forward TFLOP/s | backward ms | backward TFLOP/s |")
    print("|---|---:|---:|---:|---:|")
    for label, r in results.items():
        if "error" in r:
            print(f"| {label} | {r['error']} | | | |")
        else:
            print(f"| {label} | {r['forward_ms']:.3f} | {r['forward_tflops']:.3g} | {r['backward_ms']:.3f} "
                  f"| {r['backward_tflops']:.3g} |")


if __name__ == "__main__":
    main()
