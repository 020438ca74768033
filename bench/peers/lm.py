#!/usr/bin/env python3
"""PyTorch peer of bench/lm.cpp: the same LLaMA-shaped models (RMSNorm, rotary embeddings,
grouped-query attention through F.scaled_dot_product_attention, SwiGLU, untied head),
timed on the same two loops:

  lm_train_step  forward, cross-entropy, backward, clip_grad_norm_(1.0) and AdamW
                 (betas 0.9/0.95, weight decay 0.1 on matrices): trained tokens per second
  lm_generate    greedy decoding of 4 prompts of 16 tokens, 64 new tokens each, with a
                 preallocated KV cache: generated tokens per second

Prints one JSON object in the form scripts/bench_compare.py reads: {"threads", "torch",
"results": {"<name>/<preset>": wall-clock ns per call}, "cpu_ns": {... process CPU ns per
call}, "tokens": {... tokens per call}, "parameters": {preset: count}, "peak_rss_mib"}.
peak_rss_mib is the process's peak resident memory (getrusage), meaningful when --filter
selects one workload.
Usage: python3 bench/peers/lm.py [--threads 2] [--filter REGEX] [--min-time 2]
"""
import argparse
import json
import re
import resource
import time

import torch
import torch.nn.functional as F

VOCAB = 1024
PRESETS = {  # dim, layers, heads, kv heads, ffn hidden, max_seq_len; batch, seq_len
    "tiny": (dict(dim=128, n_layers=4, n_heads=4, n_kv_heads=2, ffn=352, max_seq=128), 16, 128),
    "small": (dict(dim=256, n_layers=6, n_heads=8, n_kv_heads=4, ffn=704, max_seq=256), 8, 256),
}


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate(x, cos, sin):  # x: [B, T, H, D]; cos, sin: [T, 1, D/2] (or [B, T, 1, D/2])
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class Attention(torch.nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads):
        super().__init__()
        self.h, self.hkv, self.d = n_heads, n_kv_heads, dim // n_heads
        self.q_proj = torch.nn.Linear(dim, n_heads * self.d, bias=False)
        self.k_proj = torch.nn.Linear(dim, n_kv_heads * self.d, bias=False)
        self.v_proj = torch.nn.Linear(dim, n_kv_heads * self.d, bias=False)
        self.o_proj = torch.nn.Linear(n_heads * self.d, dim, bias=False)

    def forward(self, x, cos, sin, cache=None, start=0):
        B, T, _ = x.shape
        q = rotate(self.q_proj(x).view(B, T, self.h, self.d), cos, sin).transpose(1, 2)
        k = rotate(self.k_proj(x).view(B, T, self.hkv, self.d), cos, sin).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.hkv, self.d).transpose(1, 2)
        if cache is not None:
            ck, cv = cache
            ck[:, :, start : start + T] = k
            cv[:, :, start : start + T] = v
            k, v = ck[:, :, : start + T], cv[:, :, : start + T]
        g = self.h // self.hkv
        k, v = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
        # Causal when several queries are given; a single new query sees every cached key.
        out = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1 and start == 0)
        return self.o_proj(out.transpose(1, 2).reshape(B, T, self.h * self.d))


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_layernorm = RMSNorm(c["dim"])
        self.self_attn = Attention(c["dim"], c["n_heads"], c["n_kv_heads"])
        self.post_attention_layernorm = RMSNorm(c["dim"])
        self.gate_proj = torch.nn.Linear(c["dim"], c["ffn"], bias=False)
        self.up_proj = torch.nn.Linear(c["dim"], c["ffn"], bias=False)
        self.down_proj = torch.nn.Linear(c["ffn"], c["dim"], bias=False)

    def forward(self, x, cos, sin, cache=None, start=0):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, start)
        y = self.post_attention_layernorm(h)
        return h + self.down_proj(F.silu(self.gate_proj(y)) * self.up_proj(y))


class CausalLM(torch.nn.Module):
    def __init__(self, c, theta=10000.0):
        super().__init__()
        self.c = c
        self.embed_tokens = torch.nn.Embedding(VOCAB, c["dim"])
        self.layers = torch.nn.ModuleList([Block(c) for _ in range(c["n_layers"])])
        self.norm = RMSNorm(c["dim"])
        self.lm_head = torch.nn.Linear(c["dim"], VOCAB, bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, std=0.02)
        d = c["dim"] // c["n_heads"]
        inv_freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
        angles = torch.arange(c["max_seq"], dtype=torch.float64)[:, None] * inv_freq[None, :]
        self.register_buffer("cos", angles.cos().float()[:, None, :], persistent=False)
        self.register_buffer("sin", angles.sin().float()[:, None, :], persistent=False)

    def forward(self, tokens, caches=None, start=0):
        return self.forward_embeddings(self.embed_tokens(tokens), caches, start)

    def forward_embeddings(self, x, caches=None, start=0):
        """x: [B, T, dim] input embeddings at positions start.. -> logits [B, T, VOCAB]."""
        T = x.shape[1]
        cos, sin = self.cos[start : start + T], self.sin[start : start + T]
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i], start)
        return self.lm_head(self.norm(x))


def timed(fn, min_time):
    """Seconds per call: (wall clock, process CPU time). On a machine shared with other
    jobs the CPU time is the steadier figure of the two at one thread."""
    fn()  # warm-up
    runs, start, cpu_start = 0, time.perf_counter(), time.process_time()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / runs, (time.process_time() - cpu_start) / runs


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def train_step_workload(preset, min_time):
    c, batch, seq = PRESETS[preset]
    torch.manual_seed(0)
    model = CausalLM(c)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": plain, "weight_decay": 0.0}],
                            lr=3e-3, betas=(0.9, 0.95), foreach=True)
    data = torch.randint(0, VOCAB, (200_000,))

    def step():
        starts = torch.randint(0, data.numel() - seq - 1, (batch,))
        window = torch.stack([data[s : s + seq + 1] for s in starts.tolist()])
        opt.zero_grad(set_to_none=True)
        logits = model(window[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), window[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    return batch * seq, timed(step, min_time), parameter_count(model)


@torch.no_grad()
def generate_workload(preset, min_time, prompts=4, prompt_len=16, new_tokens=64):
    c, _, _ = PRESETS[preset]
    torch.manual_seed(0)
    model = CausalLM(c).eval()
    tokens = torch.randint(0, VOCAB, (prompts, prompt_len))
    def generate():
        return greedy(model, c, model.embed_tokens(tokens), new_tokens)

    return prompts * new_tokens, timed(generate, min_time), parameter_count(model)


def greedy(model, c, embeds, new_tokens):
    """Greedy decoding of new_tokens after the prompts' embeddings [B, T, dim], with a
    preallocated KV cache per layer ([B, kv heads, T + new_tokens, head dim] keys and
    values). Returns the new tokens [B, new_tokens]."""
    b, t, _ = embeds.shape
    d = c["dim"] // c["n_heads"]
    caches = [(torch.zeros(b, c["n_kv_heads"], t + new_tokens, d), torch.zeros(b, c["n_kv_heads"], t + new_tokens, d))
              for _ in range(c["n_layers"])]
    logits = model.forward_embeddings(embeds, caches, 0)[:, -1]
    out = []
    for i in range(new_tokens):
        out.append(logits.argmax(-1, keepdim=True))
        if i + 1 == new_tokens:
            break
        logits = model(out[-1], caches, t + i)[:, -1]
    return torch.cat(out, dim=1)


def run(workloads, description):
    """The command line shared by the peers: runs the workloads {name: fn(min_time) ->
    (tokens per call, (wall s, CPU s) per call, parameters)} that --filter selects and
    prints the JSON object described in this module's docstring."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--filter", default=".", help="regex selecting workloads")
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds of timed calls per workload")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = {"threads": args.threads, "torch": torch.__version__, "results": {}, "cpu_ns": {}, "tokens": {},
           "parameters": {}}
    for name, fn in workloads.items():
        if not re.search(args.filter, name):
            continue
        tokens, (wall, cpu), parameters = fn(args.min_time)
        out["results"][name] = wall * 1e9
        out["cpu_ns"][name] = cpu * 1e9
        out["tokens"][name] = tokens
        out["parameters"][name.split("/")[-1]] = parameters
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out, indent=1))


def main():
    workloads = {}
    for preset in PRESETS:
        workloads[f"lm_train_step/{preset}"] = lambda t, p=preset: train_step_workload(p, t)
        workloads[f"lm_generate/{preset}"] = lambda t, p=preset: generate_workload(p, t)
    run(workloads, __doc__)


if __name__ == "__main__":
    main()
