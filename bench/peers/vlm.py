#!/usr/bin/env python3
"""PyTorch peer of bench/vlm.cpp: the same LLaVA-shaped vision-language models (a ViT
without class token: conv patch embedding, learned positions, pre-LayerNorm blocks with
biased non-causal attention and exact-GELU MLPs, a final LayerNorm; a two-layer GELU
projector; the LLaMA-shaped decoder of bench/peers/lm.py), timed on the same two loops:

  vlm_train_step  encode the images, put the image tokens at the placeholders, forward,
                  cross-entropy of the answer tokens, backward, clip_grad_norm_(1.0),
                  AdamW (lr 1e-3, betas 0.9/0.999, no weight decay): sequence tokens per call
  vlm_generate    encode the images, then greedy decoding of 32 new tokens after image +
                  prompt with a preallocated KV cache: new tokens per call

  tiny:  ViT 64 x 64 / 8 (64 image tokens), dim 64, 2 layers, 4 heads; LM tiny
         train: 8 sequences of 96 tokens (1 bos + 64 image + 15 prompt + 16 answer)
         generate: 4 prompts of 80 tokens, 32 new tokens each
  small: ViT-S/16 (224, 196 image tokens, dim 384, 12 layers, 6 heads); LM small
         train: 4 sequences of 256 tokens (1 bos + 196 image + 27 prompt + 32 answer)
         generate: 4 prompts of 224 tokens, 32 new tokens each

Prints the JSON object of bench/peers/lm.py (scripts/bench_compare.py reads it).
Usage: python3 bench/peers/vlm.py [--threads 2] [--filter REGEX] [--min-time 2]
"""
import torch
import torch.nn.functional as F

from lm import PRESETS as LM_PRESETS, VOCAB, CausalLM, greedy, parameter_count, run, timed

BOS, IMAGE_TOKEN, FIRST_TEXT = 1, 2, 3
GENERATE_PROMPTS, NEW_TOKENS = 4, 32
# vision: image size, patch, dim, layers, heads; LM max_seq_len; train batch, prompt and
# answer text lengths.
PRESETS = {
    "tiny": (dict(image=64, patch=8, dim=64, n_layers=2, n_heads=4), 512, 8, 15, 16),
    "small": (dict(image=224, patch=16, dim=384, n_layers=12, n_heads=6), 1024, 4, 27, 32),
}


class EncoderBlock(torch.nn.Module):
    """Pre-norm ViT block: x + attn(ln(x)), then h + mlp(ln(h)); every Linear biased."""

    def __init__(self, dim, n_heads, eps=1e-6):
        super().__init__()
        self.h, self.d = n_heads, dim // n_heads
        self.input_layernorm = torch.nn.LayerNorm(dim, eps=eps)
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (torch.nn.Linear(dim, dim) for _ in range(4))
        self.post_attention_layernorm = torch.nn.LayerNorm(dim, eps=eps)
        self.up_proj = torch.nn.Linear(dim, 4 * dim)
        self.down_proj = torch.nn.Linear(4 * dim, dim)

    def forward(self, x):
        B, T, D = x.shape
        y = self.input_layernorm(x)
        q, k, v = (p(y).view(B, T, self.h, self.d).transpose(1, 2) for p in (self.q_proj, self.k_proj, self.v_proj))
        h = x + self.o_proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, T, D))
        return h + self.down_proj(F.gelu(self.up_proj(self.post_attention_layernorm(h))))


class VisionTransformer(torch.nn.Module):
    def __init__(self, v):
        super().__init__()
        patches = (v["image"] // v["patch"]) ** 2
        self.patch_embed = torch.nn.Conv2d(3, v["dim"], v["patch"], stride=v["patch"])
        self.position_embedding = torch.nn.Parameter(torch.randn(patches, v["dim"]) * 0.02)
        self.layers = torch.nn.ModuleList([EncoderBlock(v["dim"], v["n_heads"]) for _ in range(v["n_layers"])])
        self.norm = torch.nn.LayerNorm(v["dim"], eps=1e-6)

    def forward(self, images):  # [B, 3, S, S] -> [B, P, dim]
        x = self.patch_embed(images).flatten(2).transpose(1, 2) + self.position_embedding
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


class VisionLanguageModel(torch.nn.Module):
    def __init__(self, preset):
        super().__init__()
        v, max_seq, _, _, _ = PRESETS[preset]
        self.lm_config = dict(LM_PRESETS[preset][0], max_seq=max_seq)
        dim = self.lm_config["dim"]
        self.image_tokens = (v["image"] // v["patch"]) ** 2
        self.vision_tower = VisionTransformer(v)
        self.multi_modal_projector = torch.nn.Sequential(torch.nn.Linear(v["dim"], dim), torch.nn.GELU(),
                                                         torch.nn.Linear(dim, dim))
        self.language_model = CausalLM(self.lm_config)

    def embed(self, tokens, images):
        """Token embeddings [B, T, dim] with the placeholders' rows holding the image tokens."""
        image_tokens = self.multi_modal_projector(self.vision_tower(images))
        x = self.language_model.embed_tokens(tokens)
        return x.masked_scatter((tokens == IMAGE_TOKEN).unsqueeze(-1), image_tokens)


def sequences(model, batch, text):
    """[batch, 1 + P + text]: bos, the image's placeholders, random text tokens."""
    return torch.cat([torch.full((batch, 1), BOS), torch.full((batch, model.image_tokens), IMAGE_TOKEN),
                      torch.randint(FIRST_TEXT, VOCAB, (batch, text))], dim=1)


def random_images(batch, preset):
    size = PRESETS[preset][0]["image"]
    return torch.randn(batch, 3, size, size)


def train_step_workload(preset, min_time):
    _, _, batch, prompt_len, answer_len = PRESETS[preset]
    torch.manual_seed(0)
    model = VisionLanguageModel(preset)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0, foreach=True)
    tokens = sequences(model, batch, prompt_len + answer_len)
    images = random_images(batch, preset)
    prefix = tokens.shape[1] - answer_len

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model.language_model.forward_embeddings(model.embed(tokens, images))
        # Position t predicts token t + 1: the answer tokens are predicted from prefix - 1 on.
        loss = F.cross_entropy(logits[:, prefix - 1 : -1].reshape(-1, VOCAB), tokens[:, prefix:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    return tokens.numel(), timed(step, min_time), parameter_count(model)


@torch.no_grad()
def generate_workload(preset, min_time):
    _, _, _, prompt_len, _ = PRESETS[preset]
    torch.manual_seed(0)
    model = VisionLanguageModel(preset).eval()
    tokens = sequences(model, GENERATE_PROMPTS, prompt_len)
    images = random_images(GENERATE_PROMPTS, preset)
    def generate():
        return greedy(model.language_model, model.lm_config, model.embed(tokens, images), NEW_TOKENS)

    return GENERATE_PROMPTS * NEW_TOKENS, timed(generate, min_time), parameter_count(model)


def main():
    workloads = {}
    for preset in PRESETS:
        workloads[f"vlm_train_step/{preset}"] = lambda t, p=preset: train_step_workload(p, t)
        workloads[f"vlm_generate/{preset}"] = lambda t, p=preset: generate_workload(p, t)
    run(workloads, __doc__)


if __name__ == "__main__":
    main()
