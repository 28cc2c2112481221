#!/usr/bin/env python3
"""PyTorch's GPT-2 training step as the yardstick for native/bench/bench_train_cuda.cpp.

The same model as headgrad's engine (GPT-2: learned positions, pre-LayerNorm, tanh-GELU MLP 4x,
LM head tied to wte, biases everywhere) at the same shapes and batch sizes:
    L4 H8 C256, vocab 256, batch 8 x seqLen 128
    GPT-2 small (L12 H12 C768, vocab 50257, maxSeqLen 1024), batch 16 x seqLen 1024
One step = forward with the mean cross-entropy, backward, torch.optim.AdamW (fused, wd 0.1 on
the 2-D weights), gradient clipping at 1, as the engine's benchmark does. bf16 autocast, causal
attention through scaled_dot_product_attention (flash backend where available), eager mode (no
torch.compile: its compile time does not fit the GPU check). Warm-up steps, then timed steps
with the device synchronised around the loop.

    python3 scripts/bench_torch_train.py [--out FILE]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = [
    # name, vocab, maxSeqLen, layers, heads, dim, batch, seqLen, warmup, steps
    ("L4 H8 C256", 256, 128, 4, 8, 256, 8, 128, 3, 20),
    ("GPT-2 small", 50257, 1024, 12, 12, 768, 16, 1024, 2, 5),
]


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 4 * dim)
        self.fcproj = nn.Linear(4 * dim, dim)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, max_seq_len, layers, heads, dim):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(max_seq_len, dim)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.lnf = nn.LayerNorm(dim)
        for name, p in self.named_parameters():  # GPT-2 initialisation, as the engine's
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "fcproj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for b in self.blocks:
            x = b(x)
        logits = self.lnf(x) @ self.wte.weight.t()  # tied LM head
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))


def measure(name, vocab, max_seq_len, layers, heads, dim, batch, seq_len, warmup, steps):
    torch.manual_seed(0)
    model = GPT(vocab, max_seq_len, layers, heads, dim).cuda()
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4, fused=True)
    x = torch.randint(0, vocab, (batch, seq_len), device="cuda")
    y = torch.randint(0, vocab, (batch, seq_len), device="cuda")

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1e3 / steps
    row = {"shape": name, "precision": "bf16-autocast", "batch": batch, "seqLen": seq_len, "layers": layers,
           "heads": heads, "msPerStep": ms, "tokensPerSec": batch * seq_len / (ms / 1e3), "finalLoss": loss.item()}
    del model, opt
    torch.cuda.empty_cache()
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the results as JSON to this file")
    args = parser.parse_args()
    device = torch.cuda.get_device_name()
    print(f"PyTorch {torch.__version__} GPT-2 training step on {device} (bf16 autocast, SDPA, fused AdamW)\n")
    print(f"{'model':<12} {'batch':<9} {'ms/step':>10} {'tokens/s':>12}")
    rows = []
    for shape in SHAPES:
        r = measure(*shape)
        rows.append(r)
        print(f"{r['shape']:<12} {r['batch']:>4}x{r['seqLen']:<4} {r['msPerStep']:>10.2f} {r['tokensPerSec']:>12.0f}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"device": device, "torch": torch.__version__, "benchmark": "gpt_train_step", "rows": rows}, f, indent=2)
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
